"""Optional extras, checked one way: a missing package is a one-line error naming `pip install 'uptake[X]'`.

Heavy or optional packages are imported where they are used. Checking them up front (before an hour of
generation, or before a server binds) uses `require_extra`; a missing extra never switches a check off.
"""

from __future__ import annotations

import importlib

from uptake.errors import UsageError

EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "prometheus_client", "python_multipart"),
    "audit": ("scipy", "matplotlib"),
    "scan": ("h5py", "py7zr", "onnx", "cyclonedx"),
    "parquet": ("pyarrow",),
    "ray": ("ray", "grpc", "aiohttp"),
}


def install_hint(extra: str) -> str:
    return f"pip install 'uptake[{extra}]'"


def is_installed(module: str) -> bool:
    """Whether `module` imports. A failed import is not cached by Python, so this is asked each time."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


class MissingExtraError(UsageError):
    """Something the user asked for needs packages of an extra that is not installed."""

    def __init__(self, extra: str, what: str, missing: list[str]) -> None:
        self.extra = extra
        super().__init__(f"{what} needs {', '.join(missing)}, which is not installed; run: {install_hint(extra)}")


def require_extra(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise MissingExtraError unless every package of `extra` (or just `modules` of it) imports."""
    missing = [module for module in modules or EXTRAS[extra] if not is_installed(module)]
    if missing:
        raise MissingExtraError(extra, what, missing)
