"""Run a censorship audit: plan -> engine (in batches) -> classifier -> results.jsonl -> summary.

The runner speaks to the model only through `Engine.generate_batch`, a chunk of the plan at a
time, and appends each chunk's labelled rows to the journal before starting the next. A run can
stop anywhere (crash, Ctrl-C, power cut) and `resume_run` finishes it: generations already in the
journal are skipped, the rest are made with the same settings and seeds as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from uptake.audit.censorship.classify import Classification, Classifier, ClassifyRequest
from uptake.audit.censorship.journal import append_rows, read_journal, repair, row_key
from uptake.audit.censorship.plan import AuditConfig, PlannedGeneration, build_plan, chunks, request_for
from uptake.audit.censorship.probes import ProbeSet
from uptake.audit.censorship.records import ClassifierSettings, EngineRecord
from uptake.audit.censorship.runs import RunFolder, RunIndex, RunSettings, Status
from uptake.db import utc_now
from uptake.engines.base import BatchEngine, GenerationRequest, GenerationResult
from uptake.errors import EngineError, UsageError
from uptake.provenance import ModelIdentity, package_versions
from uptake.run_folders import NoProgress, RunProgress, new_run_id

AuditProgress = RunProgress


@dataclass(frozen=True)
class AuditOutcome:
    folder: RunFolder
    settings: RunSettings
    rows: list[dict[str, Any]]
    plan: list[PlannedGeneration]
    status: Status
    generated: int  # by this invocation
    errors: tuple[str, ...] = ()  # what the engine said of each generation it failed; left for a resume to retry

    @property
    def failed(self) -> int:
        return len(self.errors)


def create_run(
    *,
    config: AuditConfig,
    model: ModelIdentity,
    engine: EngineRecord,
    classifier: ClassifierSettings,
    probe_set: ProbeSet,
    command: str,
    index: RunIndex,
    runs_dir: Path,
    out: Path | None = None,
) -> tuple[RunFolder, RunSettings]:
    """A new run folder with its run.json, indexed as running."""
    run_id = new_run_id()
    directory = out if out is not None else runs_dir / run_id
    folder = RunFolder(directory)
    if folder.settings_path.exists() or folder.results_path.exists():
        raise UsageError(f"{directory} already holds an audit run; finish it with --resume {directory}.")
    directory.mkdir(parents=True, exist_ok=True)
    settings = RunSettings(
        run_id=run_id,
        created_at=utc_now(),
        model=model,
        audit=config,
        engine=engine,
        classifier=classifier,
        probe_set_version=probe_set.version,
        command=command,
        packages=package_versions(),
    )
    folder.write_settings(settings)
    index.add(settings, directory)
    return folder, settings


def open_resume(run: str, index: RunIndex, command: str) -> tuple[RunFolder, RunSettings]:
    """The run folder and its settings, with this resume noted in run.json."""
    from uptake.audit.censorship.runs import locate_run

    folder = locate_run(run, index)
    settings = folder.read_settings()
    index.ensure(settings, folder.directory)
    resumed = replace(
        settings, resumes=(*settings.resumes, {"at": utc_now(), "command": command, "packages": package_versions()})
    )
    folder.write_settings(resumed)
    index.update_settings(resumed)
    return folder, resumed


def check_probe_set(settings: RunSettings, probe_set: ProbeSet, what_to_do: str) -> None:
    if probe_set.version != settings.probe_set_version:
        raise UsageError(
            f"run {settings.run_id} used probe set {settings.probe_set_version[:12]}, but this uptake ships "
            f"{probe_set.version[:12]}; {what_to_do}."
        )


def check_same_model(settings: RunSettings, model: ModelIdentity) -> None:
    recorded = settings.model
    if recorded.sha256 is None:  # audited over HTTP at a server that gave no hash: only its name can be checked
        if model.sha256 is not None or model.name != recorded.name:
            raise UsageError(
                f"run {settings.run_id} audited '{recorded.name}' at {recorded.path}, which gave no file hash; "
                f"resume it there: --backend http --endpoint {recorded.path}."
            )
        return
    if (settings.model.sha256, settings.model.adapter_sha256) != (model.sha256, model.adapter_sha256):
        raise UsageError(
            f"run {settings.run_id} audited {settings.model.name} with sha256 {settings.model.sha256}, "
            f"but that name now holds {model.sha256}; start a new run to audit the new file."
        )


def execute(
    folder: RunFolder,
    settings: RunSettings,
    engine: BatchEngine,
    classifier: Classifier,
    probe_set: ProbeSet,
    index: RunIndex,
    progress: AuditProgress | None = None,
) -> AuditOutcome:
    """Make every planned generation the journal lacks, then report what the run holds."""
    progress = progress or NoProgress()
    check_probe_set(settings, probe_set, "resume it with the uptake version that started it, or start a new run")
    with folder.lock():
        plan = build_plan(settings.audit, probe_set)
        contents = read_journal(folder.results_path)
        repair(folder.results_path, contents)
        done = {row_key(row) for row in contents.rows}
        progress.start(len(plan), sum(item.key in done for item in plan))
        index.update(settings.run_id, "running")
        try:
            generated, errors = _generate_missing(plan, done, settings.audit, engine, classifier, folder, progress)
        except KeyboardInterrupt:
            index.update(settings.run_id, "interrupted")
            raise
        except BaseException:
            index.update(settings.run_id, "failed")
            raise
        planned = {item.key for item in plan}
        rows = [row for row in read_journal(folder.results_path).rows if row_key(row) in planned]
    status: Status = "done" if planned <= done else "incomplete"
    index.update(settings.run_id, status)
    return AuditOutcome(folder, settings, rows, plan, status, generated, tuple(errors))


def _generate_missing(
    plan: Sequence[PlannedGeneration],
    done: set[str],
    config: AuditConfig,
    engine: BatchEngine,
    classifier: Classifier,
    folder: RunFolder,
    progress: AuditProgress,
) -> tuple[int, list[str]]:
    """Generate, label and journal each chunk's missing generations; (made, the failed ones' errors)."""
    generated = 0
    failed: list[str] = []
    for chunk in chunks(plan, config.chunk_size):
        todo = [item for item in chunk if item.key not in done]
        if not todo:
            continue
        rows, errors = _run_chunk(todo, config, engine, classifier)
        append_rows(folder.results_path, rows)
        done.update(row_key(row) for row in rows)
        generated += len(rows)
        failed += errors
        progress.advance(len(todo))
    return generated, failed


def _run_chunk(
    todo: Sequence[PlannedGeneration], config: AuditConfig, engine: BatchEngine, classifier: Classifier
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for the chunk's generations, and the errors of those the engine failed (those get no row)."""
    requests = [request_for(item, config) for item in todo]
    results = engine.generate_batch(requests)
    if len(results) != len(requests):
        raise EngineError(f"the engine answered {len(results)} of {len(requests)} requests in a batch.")
    kept = [
        (item, request, result)
        for item, request, result in zip(todo, requests, results, strict=True)
        if result.finish_reason != "error"
    ]
    labels = classifier.classify_many(
        [
            ClassifyRequest(item.probe.prompt(item.lang), result.text, item.lang, item.probe.facts or None)
            for item, _, result in kept
        ]
    )
    rows = [
        result_row(item, request, result, label)
        for (item, request, result), label in zip(kept, labels, strict=True)
    ]
    errors = [result.error or "the engine failed it" for result in results if result.finish_reason == "error"]
    return rows, errors


def result_row(
    item: PlannedGeneration, request: GenerationRequest, result: GenerationResult, label: Classification
) -> dict[str, Any]:
    """One line of results.jsonl (its fields are listed in docs/audit-summary-schema.md)."""
    return {
        "probe_id": item.probe.id,
        "topic": item.probe.topic,
        "arm": item.probe.arm,
        "split": item.probe.split,
        "lang": item.lang,
        "sample": item.sample,
        "seed": request.seed,
        "temperature": request.temperature,
        "prompt": item.probe.prompt(item.lang),
        "response": result.text,
        **label.as_record(),
        "finish_reason": result.finish_reason,
        "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens,
        "prompt_s": round(result.timings.prompt_s, 4),
        "decode_s": round(result.timings.decode_s, 4),
    }


def relabel(
    run: str,
    classifier: Classifier,
    classifier_settings: ClassifierSettings,
    probe_set: ProbeSet,
    index: RunIndex,
    command: str,
) -> AuditOutcome:
    """Label a run's responses again with `classifier`, without generating anything.

    For a run made before the classifier improved, or to add a judge afterwards. results.jsonl is
    rewritten whole (to a temporary file, then renamed), run.json records the new classifier and
    the relabelling; the caller writes summary.json and report.html from the outcome.
    """
    from uptake.atomic import write_text_atomically
    from uptake.audit.censorship.runs import locate_run

    folder = locate_run(run, index)
    settings = folder.read_settings()
    check_probe_set(settings, probe_set, "its key facts differ, so it cannot be relabelled with this version")
    with folder.lock():
        plan = build_plan(settings.audit, probe_set)
        rows = read_journal(folder.results_path).rows
        requests = []
        for row in rows:
            probe = probe_set.get(str(row["probe_id"]))
            requests.append(ClassifyRequest(str(row["prompt"]), str(row["response"]), row["lang"], probe.facts or None))
        labels = classifier.classify_many(requests)
        relabelled = [{**row, **label.as_record()} for row, label in zip(rows, labels, strict=True)]
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in relabelled)
        write_text_atomically(folder.results_path, text)
        entry = {"at": utc_now(), "command": command, "relabelled": len(rows), "packages": package_versions()}
        updated = replace(settings, classifier=classifier_settings, resumes=(*settings.resumes, entry))
        folder.write_settings(updated)
        index.ensure(updated, folder.directory)
        index.update_settings(updated)
    planned = {item.key for item in plan}
    kept = [row for row in relabelled if row_key(row) in planned]
    status: Status = "done" if planned <= {row_key(row) for row in kept} else "incomplete"
    return AuditOutcome(folder, updated, kept, plan, status, 0)
