"""The `uptake` command: verbs are registered here and live in their own modules."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from uptake import __version__
from uptake.cli import audit, fit, models, run, scan, serve
from uptake.errors import UptakeError

app = typer.Typer(
    name="uptake",
    help="Run open-weight language models on the hardware you have, and check that you can trust them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.command("pull")(models.pull)
app.command("import")(models.import_)
app.command("list")(models.list_)
app.command("show")(models.show)
app.command("rm")(models.rm)
app.command("run")(run.run)
app.command("chat")(run.chat)
app.command("serve")(serve.serve)
app.command("scan")(scan.scan)
app.command("fit")(fit.fit)
app.command("bench")(fit.bench)
app.add_typer(audit.app, name="audit")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"uptake {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and engine logs.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    if debug:
        os.environ["UPTAKE_DEBUG"] = "1"


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        app(standalone_mode=False)
    except UptakeError as error:
        if os.environ.get("UPTAKE_DEBUG"):
            raise
        sys.stderr.write(f"error: {error}\n")
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # the command parser's usage errors, and anything unexpected
        # Typer may ship its own copy of click, so its usage errors are recognised by their shape.
        show = getattr(error, "show", None)
        if callable(show) and isinstance(getattr(error, "exit_code", None), int):
            show()
            sys.exit(error.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("UPTAKE_DEBUG"):
            raise
        sys.stderr.write(f"error: {type(error).__name__}: {error} (run with --debug for the traceback)\n")
        sys.exit(1)
