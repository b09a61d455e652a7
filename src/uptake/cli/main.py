"""The `uptake` command: every verb is registered here, and only here; each lives in its own module.

Every exit status a command documents is the status of the process: `main` returns what the command
ended with, and turns errors into one line on stderr. The table of statuses is in docs/cli.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from uptake import __version__
from uptake.cli import audit, control, fit, models, run, scan, serve, task
from uptake.errors import EXIT_INTERRUPTED, EXIT_USAGE, UptakeError
from uptake.scan.report import EXIT_USAGE as SCAN_EXIT_USAGE

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
audit_app = typer.Typer(help="Audit a model's behaviour: censorship on PRC-sensitive topics.", no_args_is_help=True)
audit_app.command("censorship")(audit.censorship)
audit_app.command("classify")(audit.classify)
audit_app.command("compare")(audit.compare)
audit_app.command("relabel")(audit.relabel)
app.add_typer(audit_app, name="audit")
task_app = typer.Typer(help="Sector tasks: run a task file, compare models on it, check it.", no_args_is_help=True)
task_app.command("run")(task.run)
task_app.command("compare")(task.compare)
task_app.command("validate")(task.validate)
task_app.command("list")(task.list_tasks)
app.add_typer(task_app, name="task")
control_app = typer.Typer(
    help="Control: edit a model's behaviour as a LoRA adapter, with lineage.", no_args_is_help=True
)
control_app.command("decensor")(control.decensor)
control_app.command("list")(control.list_)
control_app.command("show")(control.show)
control_app.command("rm")(control.rm)
app.add_typer(control_app, name="control")

# Commands whose exit statuses give 2 another meaning take their usage errors elsewhere:
# for `scan`, 2 means a dangerous or unreadable file, so a mistyped flag must not look like one.
USAGE_EXIT_CODES = {"scan": SCAN_EXIT_USAGE}


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


def _command_name(error: Exception) -> str | None:
    """The verb a parser error belongs to (`scan` for `uptake scan --bogus`), when it got that far."""
    context = getattr(error, "ctx", None)
    command = getattr(context, "command", None)
    name = getattr(command, "name", None)
    return name if isinstance(name, str) else None


def _usage_error(error: Exception) -> int:
    """One line, as for every other mistake, with where to look; bare `uptake` still shows the help."""
    if type(error).__name__ == "NoArgsIsHelpError":
        error.show()  # type: ignore[attr-defined]
        return 0
    name = _command_name(error)
    where = f"uptake {name}" if name and name != "uptake" else "uptake"
    sys.stderr.write(f"error: {error.format_message()} (see '{where} --help')\n")  # type: ignore[attr-defined]
    return USAGE_EXIT_CODES.get(name or "", EXIT_USAGE)


def run_command(args: Sequence[str] | None = None) -> int:
    """Run the CLI on `args` (default: sys.argv) and return the exit status; never raises for user errors."""
    try:
        # Without standalone mode, Click returns the status of a `typer.Exit` instead of exiting:
        # that value is the command's verdict (scan's 0/1/2) and must reach the process.
        status = app(args=list(args) if args is not None else None, standalone_mode=False)
    except UptakeError as error:
        if os.environ.get("UPTAKE_DEBUG"):
            raise
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("aborted\n")
        return EXIT_INTERRUPTED
    except typer.Exit as done:
        return done.exit_code
    except Exception as error:  # the command parser's usage errors, and anything unexpected
        # Typer may ship its own copy of click, so its usage errors are recognised by their shape.
        if callable(getattr(error, "format_message", None)) and isinstance(getattr(error, "exit_code", None), int):
            return _usage_error(error)
        if os.environ.get("UPTAKE_DEBUG"):
            raise
        sys.stderr.write(f"error: {type(error).__name__}: {error} (run with --debug for the traceback)\n")
        return 1
    if status == EXIT_INTERRUPTED:
        # Typer turns Ctrl-C inside a command into a silent Exit(130); say what happened, as above.
        sys.stderr.write("aborted\n")
    return status if isinstance(status, int) else 0


def main() -> None:
    """Entry point of the `uptake` console script and of `python -m uptake`."""
    sys.exit(run_command())
