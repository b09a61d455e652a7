"""The command line as a user meets it: real processes, one-line errors, JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def uptake(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uptake", *args],
        capture_output=True, text=True, input=stdin, timeout=120, env=os.environ.copy(),
    )


def test_import_list_show_run_rm(tiny_gguf: Path) -> None:
    imported = uptake("import", str(tiny_gguf), "--name", "tiny", "--json")
    assert imported.returncode == 0, imported.stderr
    sha256 = json.loads(imported.stdout)["sha256"]

    listed = json.loads(uptake("list", "--json").stdout)
    assert [m["name"] for m in listed] == ["tiny"]

    shown = json.loads(uptake("show", "tiny", "--json").stdout)
    assert shown["sha256"] == sha256 and shown["metadata"]["architecture"] == "llama"

    ran = uptake("run", "tiny", "hello", "--temperature", "0", "--max-tokens", "5", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["usage"]["completion_tokens"] <= 5
    assert result["timings"]["decode_s"] >= 0 and result["settings"]["temperature"] == 0

    streamed = uptake("run", "tiny", "hello", "--temperature", "0", "--max-tokens", "5")
    assert streamed.returncode == 0 and streamed.stdout.rstrip("\n") == result["text"].rstrip("\n")

    assert uptake("rm", "tiny").returncode == 0
    assert json.loads(uptake("list", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "qwn:0.5b", "hi"), "Did you mean"),
        (("show", "no-such-model"), "unknown model"),
        (("import", "/no/such/file.gguf"), "not a file"),
        (("rm", "ghost"), "unknown model"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args: tuple[str, ...], needle: str) -> None:
    done = uptake(*args)
    assert done.returncode != 0
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_schema_file_is_refused_before_loading(tiny_gguf: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text("{not json")
    done = uptake("run", str(tiny_gguf), "hi", "--json-schema", str(schema))
    assert done.returncode == 2 and "not valid JSON" in done.stderr


def test_json_schema_run_reports_validation(tiny_gguf: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}))
    done = uptake("run", str(tiny_gguf), "hi", "--temperature", "0", "--json-schema", str(schema), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["json"]["valid"] is True


def test_chat_keeps_history_and_resets(tiny_gguf: Path) -> None:
    done = uptake("chat", str(tiny_gguf), "--temperature", "0", "--max-tokens", "4",
                  stdin="hello\n/reset\nagain\n/exit\n")
    assert done.returncode == 0, done.stderr
    assert "history cleared" in done.stderr


def test_list_all_shows_the_catalog() -> None:
    rows = json.loads(uptake("list", "--all", "--json").stdout)
    names = {row["name"] for row in rows}
    assert {"qwen2.5-coder:0.5b", "smollm2:135m", "gemma3:270m", "qwen2.5-coder:1.5b"} <= names


def test_unknown_commands_and_bad_option_values_are_usage_errors() -> None:
    unknown = uptake("no-such-verb")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = uptake("run", "--max-tokens", "many", "hello")
    assert bad.returncode == 2 and "--max-tokens" in bad.stderr and "Traceback" not in bad.stderr
