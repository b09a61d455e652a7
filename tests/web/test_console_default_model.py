"""The console on the real default model, as users run it: `uptake serve` (its own process, console on by
default) driven by chromium. Chat must stream the model's own greedy answer and stop when asked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import Recorder, chromium_path, screenshot
from playwright.sync_api import sync_playwright
from serve_support import free_port, server_process

from polling import wait_for
from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.settings import Settings

pytestmark = pytest.mark.slow
UPTAKE = str(Path(sys.executable).with_name("uptake"))
PROMPT = "Name three primary colours."


@pytest.fixture(scope="module")
def server(real_model_home: Path) -> Iterator[str]:
    default = load_catalog().default
    pull_model(Store(Settings(home=real_model_home)), default)
    port = free_port()
    command = [UPTAKE, "serve", default, "--parallel", "2", "--ctx", "1024", "--port", str(port), "--log-level",
               "warning"]
    with server_process(command, port, ready_timeout_s=180, env={"UPTAKE_HOME": str(real_model_home)}) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[tuple[Any, Recorder]]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(120_000)
        browser_page = context.new_page()
        yield browser_page, Recorder(browser_page)
        browser.close()


def test_chat_streams_the_model_greedy_answer(server: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    expected = httpx.post(f"{server}/v1/chat/completions", timeout=120, json={
        "model": load_catalog().default, "messages": [{"role": "user", "content": PROMPT}], "temperature": 0,
        "seed": 0, "max_tokens": 48}).json()
    browser_page.goto(server + "/ui/")
    browser_page.fill("#temperature", "0")
    browser_page.fill("#seed", "0")
    browser_page.fill("#max-tokens", "48")
    browser_page.fill("#prompt", PROMPT)
    browser_page.press("#prompt", "Enter")
    answer = browser_page.wait_for_selector(".message.assistant[data-state='done'] .text")
    assert answer.text_content() == expected["choices"][0]["message"]["content"]
    stats = browser_page.inner_text(".message.assistant .stats")
    assert f"{expected['usage']['completion_tokens']} completion tokens" in stats and "tok/s" in stats
    screenshot(browser_page, "chat-default-model")
    assert recorder.errors == []


def test_stop_ends_a_real_generation(server: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    browser_page.goto(server + "/ui/")
    # Greedy: the console's default (temperature 0.7, random seed) sometimes samples the model's 40-character
    # refusal ("I'm sorry, but I can't assist with that."), which ends before there is anything to stop.
    browser_page.fill("#temperature", "0")
    browser_page.fill("#seed", "0")
    browser_page.fill("#max-tokens", "800")
    browser_page.fill("#prompt", "Write a long story about a lighthouse keeper.")
    browser_page.press("#prompt", "Enter")
    wait_for(lambda: len(browser_page.inner_text(".message.assistant .text")) > 40, what="part of the story",
             timeout_s=120)
    browser_page.click("#stop")
    browser_page.wait_for_selector(".message.assistant[data-state='stopped']")

    def idle() -> bool:
        return all(model["active"] == 0 for model in httpx.get(f"{server}/ui/api/status").json()["models"])

    wait_for(idle, what="the server to drop the stopped sequence", timeout_s=30)
    assert recorder.errors == []
