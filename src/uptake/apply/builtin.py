"""The sector tasks shipped inside the package: each a folder under apply/tasks/ with task.yaml, its data,
gold and PROVENANCE.md. A task is named by its folder, or given as the path of any task.yaml."""

from __future__ import annotations

from pathlib import Path

from uptake.errors import UsageError

TASKS_DIR = Path(__file__).parent / "tasks"


def builtin_tasks() -> dict[str, Path]:
    if not TASKS_DIR.is_dir():
        return {}
    folders = sorted(TASKS_DIR.iterdir())
    return {folder.name: folder / "task.yaml" for folder in folders if (folder / "task.yaml").is_file()}


def task_path(name_or_path: str) -> Path:
    """A built-in task's file, or the given path (a task.yaml, or a folder holding one)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir() and (candidate / "task.yaml").is_file():
        return candidate / "task.yaml"
    if candidate.is_file():
        return candidate
    builtin = builtin_tasks()
    if name_or_path in builtin:
        return builtin[name_or_path]
    names = ", ".join(builtin) or "none"
    raise UsageError(f"no task '{name_or_path}': not a file, and not a built-in task ({names}).")
