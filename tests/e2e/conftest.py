"""End-to-end fixtures: one pipeline run per test session, and servers in subprocesses."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from pipeline import cli
from pipeline.config import PROJECT_DIR, Paths


@pytest.fixture(scope="session")
def pipeline_run(spark) -> Paths:
    """`propensity run` on 300 customers x 18 months, in this process's Spark session."""
    code = cli.main(["run", "--customers", "300", "--months", "18"])
    assert code == 0, "propensity run failed: see the log above"
    return Paths.from_env()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(command: list[str], ready_url: str, env: dict, timeout: float = 90) -> Iterator[str]:
    """Run a server process until ``ready_url`` answers 200; stop it afterwards."""
    server = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.stdout.read().decode()[-3000:]
                pytest.fail(f"{command[2:4]} did not start:\n{output}")
            time.sleep(0.3)
        yield ready_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
