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
from uptake.audit.censorship.records import ClassifierSettings, LoadOptions, engine_record
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
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.provenance import identify_model
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


def _load(stack: ExitStack, model: ResolvedModel, load: LoadOptions, settings: Settings,
          ray: RayOptions | None) -> BatchEngine:
    """The engine in this process, or with `ray`, replicas of it on a Ray cluster (each loaded as `load` says)."""
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


@contextmanager
def started_audit(
    model: ResolvedModel,
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
    `ray`, the generations run on replicas on a Ray cluster."""
    settings = settings or get_settings()
    load = LoadOptions(**load_options_for(config, settings))
    if threads is not None:
        load = LoadOptions(load.context_size, threads, load.parallel)
    with ExitStack() as stack:
        engine = _load(stack, model, load, settings, ray)
        opened = open_classifier(stack, classifier, judge_key)
        folder, run_settings = create_run(
            config=config, model=identify_model(model), engine=engine_record(engine, load), classifier=classifier,
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
) -> Iterator[AuditSession]:
    """An unfinished run (its id or folder) with its own settings; the model must still be the same file."""
    settings = settings or get_settings()
    folder, run_settings = open_resume(run, index, command)
    model = (resolve or (lambda name: resolve_model(name, settings)))(run_settings.model.name)
    check_same_model(run_settings, identify_model(model, given_as=run_settings.model.name))
    with ExitStack() as stack:
        engine = _load(stack, model, run_settings.engine.load, settings, ray)
        opened = open_classifier(stack, run_settings.classifier, judge_key)
        yield AuditSession(folder, run_settings, engine, opened, index)
