"""One exception hierarchy. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations

EXIT_FAILURE = 1  # a failure the user can act on: a download, a hash, an engine
EXIT_USAGE = 2  # bad input: an unknown model, a missing file, a bad flag (scan uses 3; see docs/cli.md)
EXIT_BLOCKED = 2  # pull/import refused a file the scan found dangerous or unreadable (scan's own 2)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class UptakeError(Exception):
    """A failure the user can act on. The message names the problem and the fix."""

    exit_code = EXIT_FAILURE


class UsageError(UptakeError):
    """Bad input from the user: an unknown option value, a missing file, a malformed argument."""

    exit_code = EXIT_USAGE


class ModelNotFoundError(UptakeError):
    """A model name that is neither in the store nor in the catalog."""

    exit_code = EXIT_USAGE

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown model '{name}'.{hint} See 'uptake list --all' for the catalog.")

    @classmethod
    def not_pulled(cls, name: str) -> ModelNotFoundError:
        error = cls.__new__(cls)
        error.name, error.suggestions = name, []
        Exception.__init__(error, f"model '{name}' is in the catalog but not in the store; run 'uptake pull {name}'.")
        return error


class HashMismatchError(UptakeError):
    """Downloaded or imported bytes do not match the published sha256."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"sha256 mismatch for {what}: expected {expected}, got {actual}. "
            "Nothing was registered; the download was discarded."
        )


class DownloadError(UptakeError):
    """A source could not deliver the file (network, missing file, server error)."""


class ContextOverflowError(UptakeError):
    """A prompt that does not fit the context window. We never truncate silently."""

    def __init__(self, prompt_tokens: int, context_size: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.context_size = context_size
        super().__init__(
            f"prompt is {prompt_tokens} tokens but the context holds {context_size}; "
            "shorten the prompt or raise the context size (--ctx / UPTAKE_CONTEXT_SIZE)."
        )


class EngineError(UptakeError):
    """The engine could not load a model or generate."""


class BlockedModelError(UptakeError):
    """A model file the artifact scan judged dangerous."""

    exit_code = EXIT_BLOCKED


class InterruptedRunError(UptakeError):
    """Long work stopped by Ctrl-C; the message says how to pick it up again."""

    exit_code = EXIT_INTERRUPTED
