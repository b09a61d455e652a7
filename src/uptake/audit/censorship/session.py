"""Start or resume a censorship audit: resolve and load the model, open the classifier, make the run folder.

The CLI and the benchmarks use this one path, so a benchmark measures exactly what `uptake audit
censorship` runs. A session owns its engine and judge and closes them when its `with` block ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from uptake.audit.censorship.classify import Classifier, CombinedClassifier, JudgeClassifier, RuleClassifier
from uptake.audit.censorship.judge import open_judge
from uptake.audit.censorship.plan import AuditConfig, load_options_for
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.records import ClassifierSettings, EngineRecord, LoadOptions, engine_record
from uptake.audit.censorship.runner import (
    AuditOutcome,
    AuditProgress,
    check_same_model,
    create_run,
    execute,
    open_resume,
)
from uptake.audit.censorship.runs import RunFolder, RunIndex, RunSettings
from uptake.engines.base import BatchEngine
from uptake.errors import UsageError
from uptake.executors.http_batch import HTTP_PREFIX, HttpBatchEngine
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.provenance import ModelIdentity, identify_model
from uptake.settings import Settings, get_settings

if TYPE_CHECKING:
    from uptake.executors.ray import RayOptions

Resolver = Callable[[str], ResolvedModel]


@dataclass(frozen=True)
class AuditSession:
    folder: RunFolder
    settings: RunSettings
    engine: BatchEngine
    classifier: Classifier
    index: RunIndex

    def execute(self, progress: AuditProgress | None = None) -> AuditOutcome:
        return execute(self.folder, self.settings, self.engine, self.classifier, load_probe_set(), self.index, progress)


def open_classifier(stack: ExitStack, settings: ClassifierSettings, judge_key: str | None) -> Classifier:
    if settings.mode == "rules":
        return RuleClassifier()
    if settings.judge is None:
        raise UsageError(f"the {settings.mode} classifier needs a judge (--judge MODEL_OR_URL).")
    judge = stack.enter_context(open_judge(settings.judge, model=settings.judge_model or "default", api_key=judge_key))
    if settings.mode == "judge":
        return JudgeClassifier(judge)
    return CombinedClassifier(judge, settings.threshold if settings.threshold is not None else 0.8)


def _load(stack: ExitStack, model: ResolvedModel | HttpBatchEngine, load: LoadOptions, settings: Settings,
          ray: RayOptions | None) -> BatchEngine:
    """The engine in this process, or with `ray`, replicas of it on a Ray cluster (each loaded as `load` says),
    or a server that already runs the model."""
    if isinstance(model, HttpBatchEngine):
        return model
    if ray is not None:
        from uptake.executors.ray import replicas_of

        executor = replicas_of(model, replace(ray, context_size=load.context_size or ray.context_size,
                                              parallel=load.parallel or ray.parallel))
        stack.callback(executor.close)
        return executor
    from uptake.engines.loader import load_engine  # llama.cpp loads only when an audit really starts

    engine = load_engine(model, settings, **load.as_dict())
    stack.callback(engine.close)
    return engine


def _identity_and_record(model: ResolvedModel | HttpBatchEngine, engine: BatchEngine,
                         load: LoadOptions) -> tuple[ModelIdentity, EngineRecord]:
    if isinstance(model, HttpBatchEngine):  # the server's engine settings are its own: only where, and how many
        return model.identify(), EngineRecord(engine=engine.info.engine, parallel=model.concurrency)
    return identify_model(model), engine_record(engine, load)


@contextmanager
def started_audit(
    model: ResolvedModel | HttpBatchEngine,
    config: AuditConfig,
    classifier: ClassifierSettings,
    *,
    index: RunIndex,
    command: str,
    out: Path | None = None,
    judge_key: str | None = None,
    threads: int | None = None,
    settings: Settings | None = None,
    ray: RayOptions | None = None,
) -> Iterator[AuditSession]:
    """A new run of `config` on `model`; the folder is UPTAKE_HOME/runs/RUN_ID unless `out` is given. With
    `ray`, the generations run on replicas on a Ray cluster; a `HttpBatchEngine` sends them to its server."""
    settings = settings or get_settings()
    load = LoadOptions(**load_options_for(config, settings))
    if threads is not None:
        load = LoadOptions(load.context_size, threads, load.parallel)
    with ExitStack() as stack:
        engine = _load(stack, model, load, settings, ray)
        opened = open_classifier(stack, classifier, judge_key)
        identity, record = _identity_and_record(model, engine, load)
        folder, run_settings = create_run(
            config=config, model=identity, engine=record, classifier=classifier,
            probe_set=load_probe_set(), command=command, index=index, runs_dir=settings.home / "runs", out=out,
        )
        yield AuditSession(folder, run_settings, engine, opened, index)


@contextmanager
def resumed_audit(
    run: str,
    *,
    index: RunIndex,
    command: str,
    judge_key: str | None = None,
    resolve: Resolver | None = None,
    settings: Settings | None = None,
    ray: RayOptions | None = None,
    server: HttpBatchEngine | None = None,
    api_key: str | None = None,
) -> Iterator[AuditSession]:
    """An unfinished run (its id or folder) with its own settings; the model must still be the same file (with
    `server`, the model of that name the server serves). A run made over HTTP goes back to its server unless
    `server` or `ray` says where else."""
    settings = settings or get_settings()
    folder, run_settings = open_resume(run, index, command)
    recorded = run_settings.engine
    where = recorded.engine or ""
    if server is None and ray is None and where.startswith(HTTP_PREFIX):
        server = HttpBatchEngine(where.removeprefix(HTTP_PREFIX), run_settings.model.name, api_key=api_key,
                                 concurrency=recorded.parallel or 4)
    model: ResolvedModel | HttpBatchEngine
    if server is not None:
        server.model = server.model or run_settings.model.name
        check_same_model(run_settings, server.identify())
        model = server
    else:
        model = (resolve or (lambda name: resolve_model(name, settings)))(run_settings.model.name)
        check_same_model(run_settings, identify_model(model, given_as=run_settings.model.name))
    with ExitStack() as stack:
        engine = _load(stack, model, run_settings.engine.load, settings, ray)
        opened = open_classifier(stack, run_settings.classifier, judge_key)
        yield AuditSession(folder, run_settings, engine, opened, index)
