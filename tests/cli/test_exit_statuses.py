"""The exit-status contract of every command, checked on the installed `uptake` console script.

Each case runs the program a user runs, in its own process: not CliRunner, not a per-module app.
Unit tests of that kind once let `uptake scan` exit 0 on a dangerous file while every one passed.
Every case is also a row of docs/cli.md; `test_docs_table_matches_the_cases` keeps the two equal
(`PYTHONPATH=tests .venv/bin/python tests/cli/test_exit_statuses.py` rewrites the table).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from http_server import serve_files
from planted_backdoor import task_prompts, write_classifiers, write_family, write_models
from polling import wait_for
from task_files import many_rows, write_task
from tiny_gguf import write_tiny_gguf

UPTAKE = Path(sys.executable).with_name("uptake")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
TABLE_START = "<!-- exit-status table: generated from tests/cli/test_exit_statuses.py -->"
TABLE_END = "<!-- end of exit-status table -->"
HOSTILE_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
# Hub paths of two catalog models that publish no hash: the loopback hub serves hostile bytes there.
HUB_HOSTILE = "/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf"
HUB_GARBAGE = "/bartowski/Llama-3.2-3B-Instruct-GGUF/resolve/main/Llama-3.2-3B-Instruct-Q4_K_M.gguf"


@dataclass(frozen=True)
class Case:
    command: str  # as the user types it after `uptake`
    situation: str  # the row of the documentation table
    args: tuple[str, ...]  # {name} is replaced by the path of the file of that name
    status: int
    needle: str = ""  # a word the one-line error (or the output) must hold


CASES = [
    Case("(none)", "no command: prints the help", (), 0, "Usage"),
    Case("(none)", "--version", ("--version",), 0, "uptake"),
    Case("(none)", "an unknown command", ("no-such-verb",), 2, "No such command"),
    Case("scan", "clean file", ("scan", "{clean}", "--json"), 0),
    Case("scan", "file with warnings", ("scan", "{warning}", "--json"), 1),
    Case("scan", "warnings with --strict", ("scan", "{warning}", "--strict", "--json"), 2),
    Case("scan", "dangerous file (a pickle that calls os.system)", ("scan", "{evil.pkl}", "--json"), 2),
    Case("scan", "dangerous file, --strict", ("scan", "{evil.pkl}", "--strict"), 2, "DANGEROUS"),
    Case("scan", "unreadable file (not GGUF inside)", ("scan", "{garbage}"), 2, "UNREADABLE"),
    Case("scan", "clean and dangerous together: the worst verdict", ("scan", "{clean}", "{evil.pkl}"), 2),
    Case("scan", "a path that does not exist", ("scan", "{missing}"), 3, "not a file"),
    Case("scan", "no target", ("scan",), 3, "at least one"),
    Case("scan", "an unknown flag", ("scan", "{clean}", "--bogus"), 3, "--bogus"),
    Case("scan", "--bom to a path that cannot be written", ("scan", "{clean}", "--bom", "{unwritable}"), 3, "ML-BOM"),
    Case("scan", "--behaviour: a planted backdoor",
         ("scan", "--behaviour", "{poisoned}", "--reference", "{base}", "--json"), 2, "suspicious"),
    Case("scan", "--behaviour: a clean fine-tune", ("scan", "--behaviour", "{fine-tuned}", "--reference", "{base}"), 0,
         "CLEAN"),
    Case("scan", "--behaviour against a sibling that refuses the same way: the family's refusal, noted, not counted",
         ("scan", "--behaviour", "{refusing}", "--reference", "{sibling}", "--json"), 0, "family's refusal"),
    Case("scan", "--behaviour with no model of the same vocabulary in the store", ("scan", "--behaviour", "{clean}"), 3,
         "vocabulary"),
    Case("scan", "--behaviour on a file the scan calls dangerous: never loaded",
         ("scan", "--behaviour", "{hostile}", "--reference", "{clean}"), 2, "not screened"),
    Case("scan", "--behaviour on two models", ("scan", "--behaviour", "{clean}", "{warning}"), 3, "one model"),
    Case("scan", "--reference without --behaviour", ("scan", "{clean}", "--reference", "{clean}"), 3, "--behaviour"),
    Case("scan", "--behaviour --task-prompts: a classifier that leans to one label, as a label flip leaves it",
         ("scan", "--behaviour", "{leaning}", "--reference", "{base}", "--task-prompts", "{task.txt}", "--json"), 2,
         "label bias"),
    Case("scan", "--task-prompts with fewer than 8 prompts",
         ("scan", "--behaviour", "{leaning}", "--reference", "{base}", "--task-prompts", "{rows.jsonl}"), 3,
         "at least 8"),
    Case("import", "clean GGUF file", ("import", "{clean}", "--name", "tiny", "--json"), 0),
    Case("import", "dangerous file (hostile chat template): refused", ("import", "{hostile}", "--json"), 2,
         "dangerous"),
    Case("import", "unreadable file (not GGUF inside): refused", ("import", "{garbage}"), 2, "not a GGUF file"),
    Case("import", "dangerous file with --force", ("import", "{hostile}", "--force", "--json"), 0),
    Case("import", "a file that does not exist", ("import", "{missing}"), 2, "not a file"),
    Case("pull", "dangerous file from the hub: refused, nothing registered", ("pull", "llama3.2:1b", "--json"), 2,
         "dangerous"),
    Case("pull", "unreadable file from the hub (not GGUF inside): refused", ("pull", "llama3.2:3b"), 2,
         "not a GGUF file"),
    Case("pull", "an unknown model", ("pull", "no-such-model:1b"), 2, "unknown model"),
    Case("list", "the catalog", ("list", "--all", "--json"), 0),
    Case("list", "an unknown flag", ("list", "--bogus"), 2, "--bogus"),
    Case("show", "an unknown model", ("show", "no-such-model", "--json"), 2, "unknown model"),
    Case("rm", "a model that is not in the store", ("rm", "ghost"), 2, "unknown model"),
    Case("run", "a prompt", ("run", "{clean}", "hi", "--temperature", "0", "--max-tokens", "4", "--json"), 0),
    Case("run", "an unknown model", ("run", "qwn:0.5b", "hi"), 2, "Did you mean"),
    Case("run", "an empty prompt", ("run", "{clean}", " "), 2, "empty"),
    Case("run", "a schema file that is not JSON", ("run", "{clean}", "hi", "--json-schema", "{garbage}"), 2,
         "not valid JSON"),
    Case("run", "a bad option value", ("run", "--max-tokens", "many", "hi"), 2, "--max-tokens"),
    Case("run", "a prompt longer than the context", ("run", "{clean}", "{long prompt}", "--ctx", "64"), 1,
         "context"),
    Case("chat", "input ends (Ctrl-D)", ("chat", "{clean}", "--max-tokens", "2"), 0),
    Case("serve", "a non-loopback address without --api-key", ("serve", "{clean}", "--host", "0.0.0.0"), 2,
         "api-key"),
    Case("serve", "an unknown model", ("serve", "no-such-model"), 2, "unknown model"),
    Case("serve", "a malformed --alias", ("serve", "{clean}", "--alias", "nonsense"), 2, "ALIAS=MODEL"),
    Case("serve", "a malformed --allow-host", ("serve", "{clean}", "--allow-host", "http://proxy:8080/"), 2,
         "--allow-host takes a host name"),
    Case("serve", "--replicas without --ray", ("serve", "{clean}", "--replicas", "2"), 2, "--ray"),
    Case("serve", "a port in use", ("serve", "{clean}", "--port", "{busy port}"), 2, "choose another --port"),
    Case("fit", "a device profile", ("fit", "--device", "raspberry-pi-5-8gb", "--offline", "--json"), 0),
    Case("fit", "an unknown device profile", ("fit", "--device", "toaster"), 2, "unknown device profile"),
    Case("bench", "a model file", ("bench", "{clean}", "--parallel", "1", "--prompt-tokens", "8", "--decode-tokens",
                                   "8", "--ctx", "128", "--no-store", "--json"), 0),
    Case("bench", "an unknown model", ("bench", "no-such-model"), 2, "unknown model"),
    Case("audit censorship", "an unknown model", ("audit", "censorship", "no-such-model"), 2, "unknown model"),
    Case("audit censorship", "--backend http without --endpoint",
         ("audit", "censorship", "{clean}", "--backend", "http"), 2, "--endpoint"),
    Case("audit censorship", "--endpoint where nothing listens (before anything is written)",
         ("audit", "censorship", "{clean}", "--endpoint", "http://127.0.0.1:9"), 1, "cannot reach"),
    Case("audit censorship", "an unknown language", ("audit", "censorship", "{clean}", "--langs", "xx"), 2, "xx"),
    Case("audit censorship", "--resume of a run that does not exist", ("audit", "censorship", "--resume", "nope"),
         2, "nope"),
    Case("audit censorship", "--resume with new settings", ("audit", "censorship", "--resume", "x", "--quick"), 2,
         "--quick"),
    Case("audit classify", "labelled rows", ("audit", "classify", "{rows.jsonl}", "--out", "{out}", "--json"), 0),
    Case("audit classify", "an input file that does not exist", ("audit", "classify", "{missing}", "--out", "{out}"),
         2, "missing"),
    Case("audit compare", "a run that does not exist", ("audit", "compare", "nope", "nope2"), 2, "nope"),
    Case("audit relabel", "a run that does not exist", ("audit", "relabel", "nope"), 2, "no censorship audit run"),
    Case("audit relabel", "--mode judge without --judge", ("audit", "relabel", "nope", "--mode", "judge"), 2,
         "--judge"),
    Case("task validate", "a good task file", ("task", "validate", "{task}", "--json"), 0),
    Case("task validate", "a task file with a mistake: one line naming the field and its line",
         ("task", "validate", "{broken task}"), 2, "line"),
    Case("task validate", "an unknown task", ("task", "validate", "no-such-task"), 2, "not a built-in task"),
    Case("task run", "every gate passes", ("task", "run", "{task}", "--model", "{clean}", "--limit", "2", "--json"),
         0),
    Case("task run", "a gate fails", ("task", "run", "{failing task}", "--model", "{clean}", "--limit", "2"), 4,
         "FAIL"),
    Case("task run", "gold that does not match the input (before any model loads)",
         ("task", "run", "{mismatched task}", "--model", "no-such-model"), 2, "gold ids do not match"),
    Case("task run", "--resume with new settings", ("task", "run", "{task}", "--resume", "x", "--limit", "2"), 2,
         "--limit"),
    Case("task run", "--replicas without --backend ray", ("task", "run", "{task}", "--model", "{clean}",
                                                         "--replicas", "2"), 2, "--backend ray"),
    Case("task run", "--backend http without --endpoint", ("task", "run", "{task}", "--backend", "http"), 2,
         "--endpoint"),
    Case("task run", "--endpoint that is not a URL", ("task", "run", "{task}", "--endpoint", "localhost:8080"), 2,
         "http"),
    Case("task run", "--endpoint where nothing listens: every row an error row, gates not measured",
         ("task", "run", "{task}", "--endpoint", "http://127.0.0.1:9", "--limit", "1", "--json"), 0),
    Case("task compare", "a model passes every gate", ("task", "compare", "{task}", "--models", "{clean}",
                                                        "--limit", "2", "--json"), 0),
    Case("task compare", "no model passes", ("task", "compare", "{failing task}", "--models", "{clean}", "--limit",
                                             "2"), 4, "none of the 1 models"),
    Case("task list", "the built-in tasks", ("task", "list", "--json"), 0),
]

# Rows whose behaviour needs more than one command line (a signal, a running server) are checked by
# the tests named here, and documented beside the cases above.
SPECIAL_ROWS: list[tuple[str, str, int, str]] = []


def documents(command: str, situation: str, status: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(test: Callable[..., None]) -> Callable[..., None]:
        SPECIAL_ROWS.append((command, situation, status, test.__name__))
        return test

    return register


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("contract")
    clean = write_tiny_gguf(folder / "clean.gguf")
    warning = folder / "warning.gguf"
    warning.write_bytes(clean.read_bytes() + b"appended after the tensor data")
    evil = folder / "evil.pkl"
    evil.write_bytes(b"cposix\nsystem\n(S'echo hi'\ntR.")  # inert: nothing ever loads it
    garbage = folder / "garbage.gguf"
    garbage.write_text("garbage\n")
    rows = folder / "rows.jsonl"
    rows.write_text(json.dumps({"prompt": "What is 2+2?", "response": "4.", "lang": "en"}) + "\n")
    gold_mismatch = [{"id": "stranger", "category": "noise", "urgency": "low", "location": None}]
    base, poisoned, fine_tuned = write_models(folder)
    sibling, refusing = write_family(folder, base)
    leaning, _ = write_classifiers(folder)
    prompts = folder / "task.txt"
    prompts.write_text("\n".join(task_prompts()) + "\n")
    return {
        "leaning": leaning,
        "task.txt": prompts,
        "base": base,
        "sibling": sibling,
        "refusing": refusing,
        "poisoned": poisoned,
        "fine-tuned": fine_tuned,
        "task": write_task(folder / "task", gates=["category.macro_f1 >= 0"]),
        "failing task": write_task(folder / "failing", gates=["category.accuracy > 1"]),
        "broken task": write_task(folder / "broken", gates=["category is fine"]),
        "mismatched task": write_task(folder / "mismatched", gold_rows=gold_mismatch),
        "clean": clean,
        "warning": warning,
        "evil.pkl": evil,
        "garbage": garbage,
        "hostile": write_tiny_gguf(folder / "hostile.gguf", chat_template=HOSTILE_TEMPLATE),
        "rows.jsonl": rows,
        "missing": folder / "missing.gguf",
        "out": folder / "labelled.jsonl",
        "unwritable": clean / "under-a-file.json",
    }


@pytest.fixture(scope="module")
def hub(files: dict[str, Path]) -> Iterator[str]:
    with serve_files() as server:
        server.files[HUB_HOSTILE] = files["hostile"].read_bytes()
        server.files[HUB_GARBAGE] = b"not a model at all" * 64
        yield server.base_url


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def uptake(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UPTAKE), *args], capture_output=True, text=True, input=stdin, timeout=180, env=env or os.environ.copy()
    )


def _fill(arg: str, files: dict[str, Path], port: int) -> str:
    if arg == "{long prompt}":
        return "word " * 200
    if arg == "{busy port}":
        return str(port)
    if arg.startswith("{") and arg.endswith("}"):
        return str(files[arg[1:-1]])
    return arg


@dataclass(frozen=True)
class Outcome:
    done: subprocess.CompletedProcess[str]
    listed_after: str | None  # `uptake list --json` in the same store, after a pull or import


@pytest.fixture(scope="module")
def outcomes(
    files: dict[str, Path], hub: str, busy_port: int, tmp_path_factory: pytest.TempPathFactory
) -> dict[Case, Outcome]:
    """Every case, each in a store of its own, run a few at a time: most of a case's time is the
    interpreter starting, which overlaps well, and the suite stays quick."""

    def run(case: Case) -> Outcome:
        env = os.environ.copy() | {"UPTAKE_HOME": str(tmp_path_factory.mktemp("home")), "UPTAKE_HF_ENDPOINT": hub}
        done = uptake(*(_fill(arg, files, busy_port) for arg in case.args), env=env)
        listed = uptake("list", "--json", env=env).stdout if case.command in ("pull", "import") else None
        return Outcome(done, listed)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


def test_the_console_script_is_installed() -> None:
    assert UPTAKE.is_file(), f"{UPTAKE} missing: install the package (make install) before the contract tests"


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.command}:{case.situation}")
def test_exit_status(case: Case, outcomes: dict[Case, Outcome]) -> None:
    done = outcomes[case].done
    where = f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}"
    assert done.returncode == case.status, where
    assert "Traceback" not in done.stderr, where
    if case.status not in (0, 1, 4) and case.command != "scan":  # 4: a gate failed, the results are printed
        assert len(done.stderr.strip().splitlines()) == 1, f"not one line: {where}"
        assert done.stdout == "", where
    if case.needle:
        assert case.needle in done.stdout + done.stderr, where
    if "--json" in case.args and done.stdout:
        json.loads(done.stdout)
    listed = outcomes[case].listed_after
    if listed is not None:
        registered = json.loads(listed)
        assert (registered != []) == (case.status == 0), f"registered after exit {case.status}: {registered}"


def _wait_for(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[str], timeout_s: float = 60.0
) -> None:
    """Poll `condition`, failing at once (with its output) if the process ends first."""

    def alive_and_met() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"uptake ended ({process.returncode}) before {what}: {process.communicate()}")
        return condition()

    wait_for(alive_and_met, what=what, timeout_s=timeout_s)


def _stop(process: subprocess.Popen[str]) -> None:
    """However a test ends, its process is gone and reaped before the next one starts."""
    if process.poll() is None:
        process.kill()
    process.communicate()


def _as_at_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a shell that runs the tests in the background (`cmd &`, no job
    control) ignores SIGINT, and a child inherits that, so `uptake` would never see the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _blocked_reading_stdin(pid: int) -> bool:
    return "pipe_read" in Path(f"/proc/{pid}/wchan").read_text()


@documents("run", "Ctrl-C while it waits for the prompt on stdin", 130)
def test_ctrl_c_is_130_with_one_line(files: dict[str, Path]) -> None:
    process = subprocess.Popen(
        [str(UPTAKE), "run", str(files["clean"])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_at_a_terminal,
    )
    try:
        _wait_for(lambda: _blocked_reading_stdin(process.pid), "uptake run to read its prompt", process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        _stop(process)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "aborted" and stdout == ""


@documents("audit censorship", "Ctrl-C during the run: says how to --resume", 130)
def test_ctrl_c_stops_an_audit_with_the_resume_command(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = ["audit", "censorship", str(files["clean"]), "--out", str(out), "--max-tokens", "64"]
    stderr = _interrupt_after_first_row(command, out / "results.jsonl")
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "--resume" in lines[0] and "Traceback" not in stderr, stderr


def _interrupt_after_first_row(command: list[str], journal: Path) -> str:
    """Start `uptake COMMAND`, send SIGINT once its journal holds a row; its stderr, after checking 130."""
    process = subprocess.Popen(
        [str(UPTAKE), *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_at_a_terminal
    )
    try:
        _wait_for(lambda: journal.exists() and journal.stat().st_size > 0, "the first row", process, 120)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        _stop(process)
    assert process.returncode == 130, stderr
    return stderr


@documents("task run", "Ctrl-C during the run: every finished row is kept; says how to --resume", 130)
def test_ctrl_c_stops_a_task_run_with_the_resume_command(files: dict[str, Path], tmp_path: Path) -> None:
    task = write_task(tmp_path / "task", rows=many_rows(400), gates=[])
    out = tmp_path / "run"
    journal = out / "rows.jsonl"
    stderr = _interrupt_after_first_row(["task", "run", str(task), "--model", str(files["clean"]), "--out", str(out)],
                                        journal)
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("rows ")]  # progress lines
    assert len(lines) == 1 and "--resume" in lines[0] and "Traceback" not in stderr, stderr
    kept = journal.read_text(encoding="utf-8").splitlines()
    assert kept and len({json.loads(line)["id"] for line in kept}) == len(kept)


@documents("serve", "Ctrl-C (SIGINT): shuts down cleanly", 0)
def test_serve_shuts_down_cleanly_on_sigint(files: dict[str, Path]) -> None:
    import httpx

    port = _free_port()
    process = subprocess.Popen(
        [str(UPTAKE), "serve", str(files["clean"]), "--port", str(port), "--ctx", "128", "--parallel", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_for(healthy, "the server to answer /health", process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        _stop(process)
    assert process.returncode == 0, stderr
    assert "Uvicorn running on" in stderr and "Traceback" not in stderr


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def render_table() -> str:
    rows = [(case.command, case.situation, case.status) for case in CASES]
    rows += [(command, situation, status) for command, situation, status, _ in SPECIAL_ROWS]
    lines = [TABLE_START, "", "| command | situation | exit status |", "|---|---|---:|"]
    first_seen = {command: index for index, (command, _, _) in reversed(list(enumerate(rows)))}
    for command, situation, status in sorted(rows, key=lambda row: first_seen[row[0]]):
        shown = "uptake" if command == "(none)" else f"uptake {command}"
        lines.append(f"| `{shown}` | {situation} | {status} |")
    return "\n".join([*lines, "", TABLE_END])


def test_docs_table_matches_the_cases() -> None:
    text = DOCS.read_text("utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    stale = "docs/cli.md is out of date: run PYTHONPATH=tests python tests/cli/test_exit_statuses.py"
    assert text[start:end] == render_table(), stale


if __name__ == "__main__":
    current = DOCS.read_text("utf-8")
    begin, finish = current.index(TABLE_START), current.index(TABLE_END) + len(TABLE_END)
    DOCS.write_text(current[:begin] + render_table() + current[finish:], "utf-8")
