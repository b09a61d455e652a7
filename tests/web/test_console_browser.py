"""The web console in a real browser (Debian's chromium, driven by Playwright), against a console server process
on the scripted mock engine and a home with real store, audit and task data.

Every page must render with zero console errors; the XSS probes planted in a model answer, a model name, a chat
template and a task row must stay text; chat must stream, stop, compare two models and export; a review
decision must land in the run's gold file; with an API key, the console must sit behind its login page.
Each page is saved as a screenshot (build/screenshots).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import Recorder, chromium_path, mock_console, screenshot
from playwright.sync_api import sync_playwright

from console_data import PROBE
from polling import wait_for

API_KEY = "console-test-key"


@pytest.fixture(scope="module")
def base_url(home: Path) -> Iterator[str]:
    with mock_console(home) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Recorder]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    recorder = Recorder(page)
    yield page, recorder
    context.close()


def assert_inert(page: Any) -> None:
    assert page.evaluate("window.__xss") is None, "an XSS probe ran"


def body_text(page: Any) -> str:
    return str(page.evaluate("document.body.textContent"))


def pages(home: Path) -> list[tuple[str, str, bool]]:
    """(name, path, shows a probe) for every page of the console, with this home's run ids."""
    audits = sorted(path.name for path in (home / "runs").iterdir())
    task = next((home / "tasks").iterdir()).name
    return [
        ("chat", "/ui/", True),  # the model picker lists the alias named after the probe
        ("models", "/ui/models", True),  # the first model's chat template carries it
        ("audits", "/ui/audits", True),  # the audited model's name
        ("audit-run", f"/ui/audits/{audits[0]}", True),  # the answers
        ("audit-report", f"/ui/audits/{audits[0]}/report", True),
        ("audit-compare", f"/ui/audits/compare?run={audits[0]}&run={audits[1]}", True),
        ("tasks", "/ui/tasks", False),
        ("task-run", f"/ui/tasks/{task}", False),
        ("task-review", f"/ui/tasks/{task}/review", True),  # a row's text
        ("task-report", f"/ui/tasks/{task}/report", True),
        ("status", "/ui/status", False),
    ]


def test_every_page_renders_without_console_errors_and_the_probes_stay_text(
    home: Path, base_url: str, page: tuple[Any, Recorder]
) -> None:
    browser_page, recorder = page
    for name, path, shows_probe in pages(home):
        response = browser_page.goto(base_url + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        browser_page.wait_for_load_state("load")
        if shows_probe:
            assert "<script>window.__xss" in body_text(browser_page), f"{name}: the probe is not shown as text"
        assert_inert(browser_page)
        screenshot(browser_page, name)
    # Let the status poll run at least twice on the last page: a failing poll would log an error.
    wait_for(lambda: re.search(r"queue \d+ · busy \d+/\d+", browser_page.inner_text("#live-status")),
             what="the live status")
    assert recorder.errors == []


def send(browser_page: Any, prompt: str) -> None:
    browser_page.fill("#prompt", prompt)
    browser_page.press("#prompt", "Enter")


def test_chat_streams_an_answer_with_token_counts(base_url: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    browser_page.fill("#seed", "7")
    send(browser_page, "hello there")
    done = browser_page.wait_for_selector(".message.assistant[data-state='done']")
    assert done.inner_text().startswith("You said: hello there word0 word1")
    stats = browser_page.inner_text(".message.assistant .stats")
    assert re.search(r"\d+ prompt \+ 16 completion tokens · [\d.]+ tok/s", stats), stats
    assert "finish: stop" in stats
    screenshot(browser_page, "chat-answer")
    assert recorder.errors == []


def test_stop_button_stops_the_stream_and_the_server_frees_the_slot(
    base_url: str, page: tuple[Any, Recorder]
) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    send(browser_page, "long")
    # Polled from here: the page's CSP forbids the string evaluation wait_for_function would use.
    wait_for(lambda: len(browser_page.inner_text(".message.assistant .text")) > 60, what="part of the answer")
    browser_page.click("#stop")
    stopped = browser_page.wait_for_selector(".message.assistant[data-state='stopped']")
    length = len(stopped.inner_text())
    assert "stopped" in browser_page.inner_text(".message.assistant .stats")

    def idle() -> bool:
        status = httpx.get(f"{base_url}/ui/api/status").json()
        return all(model["active"] == 0 for model in status["models"])

    wait_for(idle, what="the server to cancel the stopped sequence", timeout_s=10)
    assert len(stopped.inner_text()) == length  # nothing arrives after the stop
    assert browser_page.is_enabled("#send") and not browser_page.is_enabled("#stop")
    assert recorder.errors == []


def test_two_models_side_by_side_answer_the_same_prompt(base_url: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    browser_page.select_option("#model-b", "mock-b")
    send(browser_page, "compare us")
    wait_for(lambda: len(browser_page.query_selector_all(".message.assistant[data-state='done']")) == 2,
             what="both answers")
    columns = browser_page.query_selector_all(".column")
    assert [column.get_attribute("data-model") for column in columns] == ["mock-a", "mock-b"]
    for column in columns:
        assert "You said: compare us" in column.inner_text()
    screenshot(browser_page, "chat-side-by-side")
    assert recorder.errors == []


def test_an_answer_and_a_model_name_carrying_script_stay_text(base_url: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    browser_page.select_option("#model", f"mock {PROBE}")
    send(browser_page, "xss")
    answer = browser_page.wait_for_selector(".message.assistant[data-state='done'] .text")
    assert answer.inner_text() == PROBE
    assert browser_page.inner_text(".column h3") == f"mock {PROBE}"
    assert browser_page.query_selector(".column img") is None
    assert_inert(browser_page)
    assert recorder.errors == []


def test_system_prompt_and_json_schema_go_with_the_request(base_url: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    browser_page.click("details summary")
    browser_page.fill("#system", "Answer briefly.")
    browser_page.fill("#schema", '{"type": "object"}')
    with browser_page.expect_request("**/v1/chat/completions") as request_info:
        send(browser_page, "with settings")
    body = json.loads(request_info.value.post_data)
    assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    browser_page.wait_for_selector(".message.assistant[data-state='done']")
    browser_page.fill("#schema", "{not json")
    send(browser_page, "again")
    assert "not valid JSON" in browser_page.inner_text("#chat-error")
    assert recorder.errors == []


def test_export_downloads_the_conversation_as_json(base_url: str, page: tuple[Any, Recorder], tmp_path: Path) -> None:
    browser_page, recorder = page
    browser_page.goto(base_url + "/ui/")
    send(browser_page, "remember this")
    browser_page.wait_for_selector(".message.assistant[data-state='done']")
    with browser_page.expect_download() as download_info:
        browser_page.click("#export")
    target = tmp_path / "chat.json"
    download_info.value.save_as(target)
    exported = json.loads(target.read_text(encoding="utf-8"))
    conversation = exported["conversations"][0]
    assert conversation["model"] == "mock-a"
    assert conversation["messages"][0] == {"role": "user", "content": "remember this"}
    assert conversation["messages"][1]["content"].startswith("You said: remember this")
    assert conversation["answers"][0]["usage"]["completion_tokens"] == 16
    assert recorder.errors == []


def test_a_review_correction_is_saved_as_gold(home: Path, base_url: str, page: tuple[Any, Recorder]) -> None:
    browser_page, recorder = page
    run = next((home / "tasks").iterdir())
    browser_page.goto(f"{base_url}/ui/tasks/{run.name}/review")
    section = browser_page.locator("section.review", has_text="r03")
    section.locator("select[name='field:category']").select_option("water")
    section.locator("button.correct").click()
    browser_page.wait_for_selector("#saved")
    assert "r03 corrected" in browser_page.inner_text("#saved")
    gold = [json.loads(line) for line in (run / "gold.reviewed.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"id": "r03", "category": "water", "urgency": "low", "location": None} in gold
    screenshot(browser_page, "task-review-saved")
    assert recorder.errors == []


def test_with_an_api_key_the_console_needs_a_login(home: Path, browser: Any) -> None:
    with mock_console(home, API_KEY) as url:
        context = browser.new_context()
        browser_page = context.new_page()
        recorder = Recorder(browser_page)
        browser_page.goto(url + "/ui/models")
        assert browser_page.url.startswith(url + "/ui/login")
        screenshot(browser_page, "login")
        browser_page.fill("#key", "wrong")
        browser_page.click("#sign-in")
        assert "not valid" in browser_page.inner_text("#login-error")
        browser_page.fill("#key", API_KEY)
        browser_page.click("#sign-in")
        browser_page.wait_for_url(url + "/ui/models")
        cookie = next(c for c in context.cookies() if c["name"] == "uptake_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        browser_page.goto(url + "/ui/")
        send(browser_page, "signed in")
        done = browser_page.wait_for_selector(".message.assistant[data-state='done']")
        assert done.inner_text().startswith("You said: signed in")
        # Without the cookie the API still wants the key.
        assert httpx.get(f"{url}/v1/models").status_code == 401
        # Errors the login page's own 401 logs are expected; nothing else may fail.
        assert [error for error in recorder.errors if "401" not in error] == []
        context.close()
