"""API settings, read from the environment (PROPENSITY_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from serving.layout import Paths

CommaList = Annotated[list[str], NoDecode]


def _default_serving_dir() -> Path:
    return Paths.from_env().serving


def _default_keys_file() -> Path:
    return Paths.from_env().home / "api_keys"


class Settings(BaseSettings):
    """Where the published marts are, who may call, and how often; safe defaults."""

    model_config = SettingsConfigDict(env_prefix="PROPENSITY_", extra="ignore")

    serving_dir: Path = Field(default_factory=_default_serving_dir)
    api_keys_file: Path = Field(
        default_factory=_default_keys_file,
        description="NAME<TAB>sha256:<hex> per line, written by `propensity api-key new`",
    )
    api_key_hashes: CommaList = Field(
        default_factory=list, description="more accepted keys, as sha256:<hex>, comma-separated"
    )
    api_rate_limit: str = Field(default="1200/minute", description="per key, e.g. 600/minute")
    api_cors_origins: CommaList = Field(
        default_factory=list, description="browser origins allowed to call; none by default"
    )
    api_trusted_hosts: CommaList = Field(
        default_factory=lambda: ["*"],
        description="Host headers answered, e.g. api.example.com,localhost; * for any",
    )

    @field_validator("api_key_hashes", "api_cors_origins", "api_trusted_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
