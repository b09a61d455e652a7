"""Helpers for the browser suite: Debian's chromium driven by Playwright, a console server process, and a page
that records every console error.

Playwright cannot download its own browser here, so the suite runs the system's chromium (apt-get install
chromium; `make` installs it); UPTAKE_CHROMIUM names another binary. Screenshots go to build/screenshots (or
UPTAKE_SCREENSHOTS).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from serve_support import free_port, server_process

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("UPTAKE_SCREENSHOTS", ROOT / "build" / "screenshots"))
CONSOLE_SERVER = Path(__file__).with_name("console_server.py")


def chromium_path() -> str:
    found = os.environ.get("UPTAKE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError("no chromium: 'apt-get install chromium' (make does), or set UPTAKE_CHROMIUM")
    return found


@contextmanager
def mock_console(home: Path, *api_keys: str) -> Iterator[str]:
    """The console on the mock engine (console_server.py), as a process, on a free loopback port."""
    port = free_port()
    keys = [argument for key in api_keys for argument in ("--api-key", key)]
    command = [sys.executable, str(CONSOLE_SERVER), "--home", str(home), "--port", str(port), *keys]
    with server_process(command, port, ready_timeout_s=60) as base_url:
        yield base_url


class Recorder:
    """A page's console errors and uncaught exceptions, as text."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(
            f"console {message.type}: {message.text} at {message.location.get('url')}")
            if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
