"""`home`: an UPTAKE_HOME with real console data and its XSS probes (tests/console_data.py), once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from console_data import populate


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("console-home")
    populate(home, models=2, audits=2)
    return home
