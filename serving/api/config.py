"""API settings, read from the environment (PROPENSITY_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.layout import Paths


def _default_serving_dir() -> Path:
    return Paths.from_env().serving


class Settings(BaseSettings):
    """Where the published marts are; everything else has a sensible default."""

    model_config = SettingsConfigDict(env_prefix="PROPENSITY_", extra="ignore")

    serving_dir: Path = Field(default_factory=_default_serving_dir)
