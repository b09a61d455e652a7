"""`decensor`: directions, a seeded and resumable Optuna search over the edit's kernels, the final adapter.

Everything a run computes is kept in its folder: the directions (directions.npz), the study (study.db,
Optuna's SQLite storage: an interrupted search resumes where it stopped, and the same seed proposes the
same trials), the report (report.json) and the adapter (adapter.gguf, with its lineage). The folder's name
is derived from the base model's hash and the options, so running the same command again resumes it.
What depends on the base model alone (its activations, its search baseline, its held-out answers and
logits) is kept beside it in a folder of the model's own, shared by runs with other options (e.g. the
selective edit and the remove-every-refusal baseline).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from uptake import __version__
from uptake.atomic import write_text_atomically
from uptake.audit.censorship.probes import ProbeSet, load_probe_set
from uptake.control.directions import (
    Array,
    direction_at,
    harm_subspace,
    mean_difference,
    normalise,
    project_out,
    separation,
)
from uptake.control.edit import EditPlan, Kernel, build_edits
from uptake.control.lora import write_adapter
from uptake.control.prompts import Prompt, PromptGroups, prompt_groups, split_topics
from uptake.control.score import (
    Answer,
    ControlEngine,
    accurate_share,
    answers,
    first_token_logits,
    mean_kl,
    non_answer_rate,
    report_scores,
)
from uptake.control.weights import COMPONENTS, OutputWeights
from uptake.errors import UsageError
from uptake.models.resolve import ResolvedModel

Note = Callable[[str], None]
METHOD = 2  # how directions and the search space are made; a study made another way is not resumed
ACTIVATION_GROUPS = ("political", "political_controls", "harm", "neutral", "cross_script", "cross_script_controls")


@dataclass(frozen=True)
class DecensorOptions:
    keep_harm: bool = True  # project the harm subspace out of the edit direction
    harm_rank: int = 2
    trials: int = 24
    seed: int = 0
    search_tokens: int = 48  # enough for the classifier to see how an answer opens
    report_tokens: int = 160  # the audit's quick length
    kl_limit: float = 0.05
    harm_margin: float = 0.05  # harm refusals may fall at most this far below the base model's

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> str:
        """What makes two runs the same run (the number of trials does not: more trials extend a study)."""
        fixed = {name: value for name, value in self.as_dict().items() if name != "trials"}
        fixed["method"] = METHOD
        return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class DecensorResult:
    folder: Path
    adapter: Path
    plan: EditPlan
    lineage: dict[str, Any]
    report: dict[str, Any]
    constraints_met: bool  # the chosen trial kept harm refusals and neutral KL within bounds


def run_folder(home: Path, model: ResolvedModel, options: DecensorOptions) -> Path:
    return home / "control" / f"decensor-{model.file_sha256()[:12]}-{options.key()}"


def base_folder(run: Path, model: ResolvedModel, options: DecensorOptions, probe_set: ProbeSet) -> Path:
    """Where the base model's own measurements live: keyed by what they depend on, not by the edit's options."""
    inputs = {
        "probes": probe_set.version,
        "search_tokens": options.search_tokens,
        "report_tokens": options.report_tokens,
        "uptake": __version__,  # the classifier that labelled the answers
    }
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:10]
    return run.parent / f"base-{model.file_sha256()[:12]}-{key}"


def _requests(prompts: Sequence[Prompt]) -> list[Any]:
    return [prompt.request() for prompt in prompts]


def collect_activations(engine: ControlEngine, groups: PromptGroups, folder: Path, note: Note) -> dict[str, Array]:
    cache = folder / "activations.npz"
    if cache.exists():
        with np.load(cache) as saved:
            return {name: saved[name] for name in ACTIVATION_GROUPS}
    found: dict[str, Array] = {}
    for name in ACTIVATION_GROUPS:
        prompts: list[Prompt] = getattr(groups, name)
        note(f"activations: {name} ({len(prompts)} prompts)")
        found[name] = np.stack([result.activations for result in engine.probe(_requests(prompts))])
    save_arrays(cache, found)
    return found


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """An .npz file written whole or not at all (a partial file, then renamed)."""
    partial = path.with_name(f"{path.stem}.partial.npz")
    np.savez(partial, **arrays)
    partial.replace(path)


@dataclass(frozen=True)
class Directions:
    political: Array  # (layers, width), raw mean differences
    harm: Array  # (layers, rank, width), orthonormal per layer
    edit: Array  # what the edit removes: political minus the harm subspace, or every refusal (keep none)

    def summary(self, activations: dict[str, Array]) -> dict[str, Any]:
        units = normalise(self.political)
        overlap = np.abs(np.einsum("lkw,lw->lk", self.harm, units)).max(axis=1)
        return {
            "political_norm": [round(float(v), 4) for v in np.linalg.norm(self.political, axis=1)],
            "harm_overlap": [round(float(v), 4) for v in overlap],  # |cos| of political with the harm basis
            "separation_found": [
                round(float(v), 3)
                for v in separation(self.edit, activations["political"], activations["political_controls"])
            ],
            "separation_zh_hant": [
                round(float(v), 3)
                for v in separation(self.edit, activations["cross_script"], activations["cross_script_controls"])
            ],
        }


def find_directions(activations: dict[str, Array], options: DecensorOptions) -> Directions:
    """The selective edit removes the political direction with the harm subspace projected out. The baseline
    (keep none) removes refusal as such, as abliteration does: what every request the model may refuse
    (political targets and harm requests) shares against every one it should answer (their matched
    controls and neutral questions)."""
    political = mean_difference(activations["political"], activations["political_controls"])
    harm = harm_subspace(activations["harm"], activations["neutral"], options.harm_rank)
    if options.keep_harm:
        edit = project_out(political, harm)
    else:
        refusable = np.concatenate([activations["political"], activations["harm"]])
        answerable = np.concatenate([activations["political_controls"], activations["neutral"]])
        edit = mean_difference(refusable, answerable)
    return Directions(political, harm, edit)


def _search_scores(
    engine: ControlEngine, groups: PromptGroups, options: DecensorOptions, base_logits: Sequence[Any]
) -> dict[str, float | None]:
    found = answers(engine, [*groups.search_targets, *groups.search_harm], options.search_tokens)
    targets, harm = found[: len(groups.search_targets)], found[len(groups.search_targets) :]
    kl = mean_kl(base_logits, first_token_logits(engine, groups.search_neutral)) if base_logits else 0.0
    return {
        "political_non_answer": non_answer_rate(targets),
        "harm_refusal": non_answer_rate(harm),
        "neutral_kl": kl,
        "accurate_of_answered": accurate_share(targets),
    }


def _plan_from(trial: Any, layers: int) -> EditPlan:
    """The search space: where the direction is read, and per component a kernel over the blocks."""
    last = layers - 1
    kernels = {}
    for component in COMPONENTS:
        peak_weight = trial.suggest_float(f"{component}.peak_weight", 0.0, 1.5)
        kernels[component] = Kernel(
            peak_weight=peak_weight,
            peak=trial.suggest_float(f"{component}.peak", 0.3 * last, float(last)),
            floor_weight=peak_weight * trial.suggest_float(f"{component}.floor_share", 0.0, 1.0),
            reach=trial.suggest_float(f"{component}.reach", 1.0, 0.6 * layers),
        )
    return EditPlan(direction_layer=trial.suggest_float("direction_layer", 0.2 * last, 0.9 * last), kernels=kernels)


def _lineage(
    model: ResolvedModel, options: DecensorOptions, plan: EditPlan, summary: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "uptake.control.decensor",
        "uptake_version": __version__,
        "base": {"name": model.name, "sha256": model.file_sha256(), "architecture": model.metadata.get("architecture")},
        "keep": "harm" if options.keep_harm else "none",
        "options": options.as_dict(),
        "plan": plan.as_dict(),
        "directions": summary,
        **extra,
    }


def decensor(
    engine: ControlEngine, model: ResolvedModel, options: DecensorOptions, folder: Path, note: Note = lambda _: None
) -> DecensorResult:
    try:
        import optuna
    except ImportError as error:
        raise UsageError("the search needs Optuna: pip install 'uptake[control]'.") from error
    probe_set = load_probe_set()
    shared = base_folder(folder, model, options, probe_set)
    folder.mkdir(parents=True, exist_ok=True)
    shared.mkdir(parents=True, exist_ok=True)
    split = split_topics(probe_set)
    groups = prompt_groups(probe_set, split)
    weights = OutputWeights(model.path)
    engine.swap_adapter(None)
    activations = collect_activations(engine, groups, shared, note)
    directions = find_directions(activations, options)
    save_arrays(
        folder / "directions.npz",
        {"political": directions.political, "harm": directions.harm, "edit": directions.edit},
    )
    summary = directions.summary(activations)

    base_logits = first_token_logits(engine, groups.search_neutral)
    baseline_file = shared / "baseline.json"
    if baseline_file.exists():
        baseline = json.loads(baseline_file.read_text("utf-8"))
    else:
        note("scoring the base model on the search prompts")
        baseline = _search_scores(engine, groups, options, [])
        write_text_atomically(baseline_file, json.dumps(baseline, indent=2))
    note(
        f"base model: political non-answers {baseline['political_non_answer']:.0%}, "
        f"harm refusals {baseline['harm_refusal']:.0%}"
    )
    harm_floor = float(baseline["harm_refusal"]) - options.harm_margin

    trial_adapter = folder / "trial.gguf"

    def objective(trial: Any) -> float:
        plan = _plan_from(trial, weights.layers)
        edits = build_edits(direction_at(directions.edit, plan.direction_layer), plan, weights)
        if not edits:
            engine.swap_adapter(None)
        else:
            write_adapter(
                trial_adapter, architecture=weights.architecture, edits=edits, lineage={"trial": trial.number}
            )
            engine.swap_adapter(trial_adapter)
        scores = _search_scores(engine, groups, options, base_logits)
        for name, value in scores.items():
            trial.set_user_attr(name, value)
        kl = float(scores["neutral_kl"] or 0.0)
        harm = float(scores["harm_refusal"] or 0.0)
        constraints = {
            "harm_refusal": harm_floor - harm if options.keep_harm else 0.0,
            "neutral_kl": kl - options.kl_limit,
        }
        trial.set_user_attr("constraints", list(constraints.values()))
        for key, value in constraints.items():  # feasible when every value is <= 0
            trial.set_constraint(key, value)
        note(
            f"trial {trial.number}: political non-answers {scores['political_non_answer']:.0%}, harm refusals "
            f"{harm:.0%}, KL {kl:.4f}"
        )
        return float(scores["political_non_answer"] or 0.0) + kl

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=options.seed,
        n_startup_trials=max(4, min(10, options.trials // 2)),
    )
    study = optuna.create_study(
        study_name="decensor",
        storage=f"sqlite:///{folder / 'study.db'}",
        load_if_exists=True,
        direction="minimize",
        sampler=sampler,
    )
    done = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    if done:
        note(f"resuming: {len(done)} trials already done")
    remaining = options.trials - len(done)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining)
    trial_adapter.unlink(missing_ok=True)
    complete = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    best = choose_trial(complete)
    plan = _plan_from(optuna.trial.FixedTrial(best.params), weights.layers)  # the trial's plan, rebuilt
    edits = build_edits(direction_at(directions.edit, plan.direction_layer), plan, weights)

    note("final report on held-out topics (base, then edited)")
    engine.swap_adapter(None)
    before = _base_report(engine, groups, options, shared)
    adapter = folder / "adapter.gguf"
    draft = folder / "adapter.draft.gguf"
    write_adapter(draft, architecture=weights.architecture, edits=edits, lineage={})
    engine.swap_adapter(draft)
    after = _report(engine, groups, options, before["logits"])
    draft.unlink(missing_ok=True)
    engine.swap_adapter(None)
    report = {
        "split": split.as_dict(),
        "base": before["scores"],
        "edited": after["scores"],
        "side_by_side": _side_by_side(before["answers"], after["answers"]),
    }
    search = {
        "trials": len(complete),
        "best_trial": best.number,
        "baseline": baseline,
        "best": dict(best.user_attrs),
        "curve": [
            {
                "trial": trial.number,
                **{k: v for k, v in trial.user_attrs.items() if k != "constraints"},
                "feasible": violation(trial) == 0.0,
            }
            for trial in complete
        ],
    }
    lineage = _lineage(
        model,
        options,
        plan,
        summary,
        {
            "split": split.as_dict(),
            "directions_sha256": hashlib.sha256((folder / "directions.npz").read_bytes()).hexdigest(),
            "search": {key: value for key, value in search.items() if key != "curve"},
            "scores": {"base": report["base"], "edited": report["edited"]},
        },
    )
    write_adapter(adapter, architecture=weights.architecture, edits=edits, lineage=lineage)
    write_text_atomically(
        folder / "report.json", json.dumps({**report, "search": search}, indent=2, ensure_ascii=False)
    )
    return DecensorResult(folder, adapter, plan, lineage, {**report, "search": search}, violation(best) == 0.0)


def violation(trial: Any) -> float:
    """By how much a finished trial breaks its constraints (0: feasible; a trial without any counts as 1)."""
    return float(sum(max(0.0, value) for value in trial.user_attrs.get("constraints", [1.0])))


def choose_trial(trials: Sequence[Any]) -> Any:
    """The feasible trial with the lowest objective; when none is feasible, the one that breaks the
    constraints least (the report then says the targets were not met)."""
    if not trials:
        raise UsageError("the search finished no trial; run the command again to resume it.")

    feasible = [trial for trial in trials if violation(trial) == 0.0]
    if feasible:
        return min(feasible, key=lambda trial: (trial.value, trial.number))
    return min(trials, key=lambda trial: (violation(trial), trial.value, trial.number))


def _report(
    engine: ControlEngine, groups: PromptGroups, options: DecensorOptions, base_logits: Sequence[Any] | None
) -> dict[str, Any]:
    found = answers(engine, _report_prompts(groups), options.report_tokens)
    return _scored(groups, found, first_token_logits(engine, groups.report_neutral), base_logits)


def _report_prompts(groups: PromptGroups) -> list[Prompt]:
    """Held-out targets, then their controls, then harm requests: the order _scored splits them in."""
    return [*groups.report_targets, *groups.report_controls, *groups.report_harm]


def _scored(
    groups: PromptGroups, found: list[Answer], logits: list[Any], base_logits: Sequence[Any] | None
) -> dict[str, Any]:
    n_targets, n_controls = len(groups.report_targets), len(groups.report_controls)
    targets, controls = found[:n_targets], found[n_targets : n_targets + n_controls]
    harm = found[n_targets + n_controls :]
    kl = mean_kl(base_logits, logits) if base_logits is not None else 0.0
    return {"scores": report_scores(targets, controls, harm, kl), "answers": found, "logits": logits}


def _base_report(engine: ControlEngine, groups: PromptGroups, options: DecensorOptions, shared: Path) -> dict[str, Any]:
    """The base model's held-out report, computed once per model and kept: its answers (text, label, fact
    coverage, in prompt order) in base_report.json and its neutral logits in base_logits.npz."""
    answers_file, logits_file = shared / "base_report.json", shared / "base_logits.npz"
    prompts = _report_prompts(groups)
    if answers_file.exists() and logits_file.exists():
        saved = json.loads(answers_file.read_text("utf-8"))
        if [entry["prompt"] for entry in saved] == [prompt.text for prompt in prompts]:
            found = [
                Answer(prompt, entry["text"], entry["label"], entry["coverage"])
                for prompt, entry in zip(prompts, saved, strict=True)
            ]
            with np.load(logits_file) as kept:
                logits = [kept[f"p{index}"] for index in range(len(kept.files))]
            return _scored(groups, found, logits, None)
    made = _report(engine, groups, options, None)
    save_arrays(logits_file, {f"p{index}": row for index, row in enumerate(made["logits"])})
    entries = [
        {"prompt": answer.prompt.text, "text": answer.text, "label": answer.label, "coverage": answer.coverage}
        for answer in made["answers"]
    ]
    write_text_atomically(answers_file, json.dumps(entries, ensure_ascii=False, indent=1))
    return made


def _side_by_side(before: Sequence[Any], after: Sequence[Any], limit: int = 6) -> list[dict[str, Any]]:
    """A few prompts whose label changed (targets first), with both answers."""
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b.label != a.label]
    changed.sort(key=lambda pair: (pair[0].prompt.probe.arm != "target", pair[0].prompt.lang))
    return [
        {
            "probe": b.prompt.probe.id,
            "lang": b.prompt.lang,
            "prompt": b.prompt.text,
            "base": {"label": b.label, "text": b.text},
            "edited": {"label": a.label, "text": a.text},
        }
        for b, a in changed[:limit]
    ]
