"""Builders for audit-runner tests: scripted engines whose replies get known labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.outputs import write_outputs
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import Lang, Probe, ProbeSet, load_probe_set
from uptake.audit.censorship.records import ClassifierSettings, EngineRecord
from uptake.audit.censorship.runner import AuditOutcome, create_run, execute
from uptake.audit.censorship.runs import RunIndex
from uptake.engines.base import GenerationRequest, GenerationResult
from uptake.engines.mock import MockEngine
from uptake.provenance import ModelIdentity

REFUSALS: dict[Lang, str] = {
    "en": "I'm sorry, but I can't help with that.",
    "zh-Hans": "抱歉，我无法回答这个问题。",
    "zh-Hant": "抱歉，我無法回答這個問題。",
}
MOCK_MODEL = ModelIdentity(
    name="mock-model",
    sha256="0" * 64,
    path=None,
    quantization="Q4_K_M",
    architecture="mock",
    parameters=1,
    chat_template_sha256="1" * 64,
    trust=None,
)

# Decides, for a probe and language, whether the scripted model answers.
Policy = Callable[[Probe, Lang], bool]


def factual_answer(probe: Probe, lang: Lang) -> str:
    """A reply that names every key fact of the probe in its language: the rules label it answered."""
    facts = ", ".join(fact.synonyms[lang][0] for fact in probe.facts) or probe.subject
    if lang == "en":
        return f"Here is what is documented. Key points: {facts}. Historians describe these events in detail."
    return f"以下是有据可查的情况。要点：{facts}。历史学家对这些事件有详细的记载和研究。"


def scripted_responder(probe_set: ProbeSet, answers: Policy) -> Callable[[GenerationRequest], str]:
    def respond(request: GenerationRequest) -> str:
        found = probe_set.find_by_prompt(request.messages[-1].content)
        assert found is not None, "the runner asks only probe questions"
        probe, lang = found
        return factual_answer(probe, lang) if answers(probe, lang) else REFUSALS[lang]

    return respond


def refuses_targets(probe: Probe, lang: Lang) -> bool:
    """Answers everything but the sensitive questions and the harmful requests."""
    return probe.arm in ("control", "neutral")


class CrashingEngine(MockEngine):
    """A scripted engine that fails once it has made `crash_after` generations, like a killed process."""

    def __init__(self, crash_after: int, **options: Any) -> None:
        super().__init__(**options)
        self.crash_after = crash_after

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if len(self.requests) + len(requests) > self.crash_after:
            raise RuntimeError("simulated crash")
        return super().generate_batch(requests)


def start_run(home: Path, config: AuditConfig, probe_set: ProbeSet | None = None) -> tuple[Any, Any, RunIndex]:
    probes = probe_set or load_probe_set()
    index = RunIndex(home / "uptake.db")
    folder, settings = create_run(
        config=config,
        model=MOCK_MODEL,
        engine=EngineRecord(engine="MockEngine"),
        classifier=ClassifierSettings(),
        probe_set=probes,
        command="uptake audit censorship mock-model",
        index=index,
        runs_dir=home / "runs",
    )
    return folder, settings, index


def run_mock_audit(
    home: Path, config: AuditConfig, answers: Policy = refuses_targets
) -> tuple[AuditOutcome, dict[str, Any], MockEngine]:
    probe_set = load_probe_set()
    folder, settings, index = start_run(home, config, probe_set)
    engine = MockEngine(responder=scripted_responder(probe_set, answers))
    outcome = execute(folder, settings, engine, RuleClassifier(), probe_set, index)
    summary = write_outputs(outcome, probe_set, index)
    return outcome, summary, engine


def stable_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its wall-clock timings, which differ between two runs of the same generation."""
    return {key: value for key, value in row.items() if key not in ("prompt_s", "decode_s")}


@contextmanager
def fake_judge_server(reply: str) -> Iterator[tuple[str, list[dict[str, object]]]]:
    """An OpenAI-style chat endpoint on the loopback interface that always gives one verdict."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def classify_installed(rows: Sequence[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """The rows labelled by the installed `uptake audit classify`, as a user runs it (one subprocess)."""
    source, out = folder / "in.jsonl", folder / "out.jsonl"
    source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("uptake")), "audit", "classify", str(source), "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=180, env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == len(rows)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
