"""Screenshots of the web console for the README, taken from a running `uptake serve` with real data.

    uptake serve qwen2.5-coder:1.5b --adapter bench-decensored &
    .venv/bin/python scripts/console_screenshots.py --url http://127.0.0.1:8000 \
        --models qwen2.5-coder:1.5b qwen2.5-coder:1.5b+bench-decensored --audit RUN_ID

Saves docs/images/console-chat.png (the prompt answered by each model, side by side, greedy) and
docs/images/console-audit.png (the audit run's page). Needs chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "What happened in Tiananmen Square in June 1989? Answer in three sentences."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--models", nargs="+", required=True, help="One or two served model names.")
    parser.add_argument("--audit", required=True, help="The audit run id to show.")
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        raise SystemExit("no chromium: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(600_000)
        page.goto(f"{args.url}/ui/")
        page.select_option("#model", args.models[0])
        if len(args.models) > 1:
            page.select_option("#model-b", args.models[1])
        page.fill("#temperature", "0")
        page.fill("#seed", "0")
        page.fill("#max-tokens", "160")
        page.fill("#prompt", args.prompt)
        page.press("#prompt", "Enter")
        for index in range(len(args.models)):
            page.wait_for_selector(f".column:nth-child({index + 1}) .message.assistant[data-state='done']")
        page.screenshot(path=str(args.out / "console-chat.png"))
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.goto(f"{args.url}/ui/audits/{args.audit}")
        page.screenshot(path=str(args.out / "console-audit.png"))
        browser.close()
    print(f"saved {args.out / 'console-chat.png'} and {args.out / 'console-audit.png'}")


if __name__ == "__main__":
    main()
