"""Pickle analysis without unpickling: every global a pickle would import must be on the allow-list.

fickling decodes the opcodes and follows the pickle machine symbolically (so STACK_GLOBAL names built on
the stack are resolved); nothing is ever imported or called. A pickle that fickling cannot decode or
follow to the end is `unreadable`, never clean. fickling comes with the [scan] extra and is imported only
when a pickle is met; without it a pickle is `unreadable` too (SCAN001), never passed unchecked.
"""

from __future__ import annotations

import ast
import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from uptake.scan.checks.pickle_allowlist import is_allowed
from uptake.scan.extras import is_installed, missing_extra_finding
from uptake.scan.report import NOWHERE, Finding, Location, Severity

if TYPE_CHECKING:
    from fickling.fickle import Pickled

PROTO_OPCODE = 0x80
IMPORTING_OPCODES = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"})


@dataclass(frozen=True)
class ImportedGlobal:
    module: str
    name: str
    offset: int | None


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """fickling prints its own warnings to stdout/stderr; keep them out of ours (JSON output included)."""
    captured = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        warnings.simplefilter("ignore")
        yield captured


@dataclass
class _SymbolicRun:
    imports: list[ast.Import | ast.ImportFrom]
    failure: str | None  # why the pickle could not be followed to its end, if it could not


def _follow(pickled: Pickled) -> _SymbolicRun:
    try:
        imports = list(pickled.properties.imports)
    except Exception as error:  # the interpreter raises IndexError, TypeError... on malformed programs
        return _SymbolicRun([], f"is malformed ({type(error).__name__}: {str(error)[:120]})")
    if pickled.has_resource_exhaustion:
        return _SymbolicRun(imports, "exhausts the analysis limits")
    if pickled.has_interpretation_error:
        return _SymbolicRun(imports, "is malformed")
    return _SymbolicRun(imports, None)


def imported_globals(pickled: Pickled, nodes: list[ast.Import | ast.ImportFrom]) -> list[ImportedGlobal]:
    """The globals a pickle imports, in order, each with the byte offset of the opcode that imports it."""
    offsets = [op.pos for op in pickled if op.name in IMPORTING_OPCODES]
    paired = len(offsets) == len(nodes)  # the symbolic run emits one import per importing opcode
    result: list[ImportedGlobal] = []
    for index, node in enumerate(nodes):
        offset = offsets[index] if paired else None
        if isinstance(node, ast.ImportFrom):
            result.extend(ImportedGlobal(node.module or "", alias.name, offset) for alias in node.names)
        else:
            result.extend(ImportedGlobal(alias.name, "*", offset) for alias in node.names)
    # GLOBAL and INST name their import in the opcode itself, so they are checked even when the
    # symbolic run stopped early and produced no AST.
    named = {(g.module, g.name) for g in result}
    for op in pickled:
        if op.name in ("GLOBAL", "INST") and isinstance(op.arg, str) and " " in op.arg:
            module, name = op.arg.split(" ", 1)
            if (module, name) not in named:
                result.append(ImportedGlobal(module, name, op.pos))
    return result


def _analyse(pickled: Pickled, where: Location, base_offset: int) -> list[Finding]:
    findings = []
    run = _follow(pickled)
    for item in imported_globals(pickled, run.imports):
        if is_allowed(item.module, item.name):
            continue
        offset = None if item.offset is None else base_offset + item.offset
        findings.append(
            Finding(
                "PKL001",
                Severity.DANGEROUS,
                f"pickle imports {item.module}.{item.name}, which is not on the allow-list of checkpoint globals; "
                "loading this file can run code",
                Location(member=where.member, offset=offset),
                f"{item.module}.{item.name}",
            )
        )
    if run.failure is not None:
        findings.append(
            Finding(
                "PKL003",
                Severity.ERROR,
                f"pickle {run.failure}; it could not be followed to the end, so what it does is unknown",
                Location(member=where.member, offset=base_offset),
            )
        )
    return findings


def _load_one(stream: BinaryIO, where: Location, position: int) -> Pickled | Finding | None:
    """The next pickle in the stream; None when there is none; a Finding when it cannot be decoded."""
    from fickling.fickle import EmptyPickleError, Pickled

    try:
        with _quiet():
            return Pickled.load(stream, fail_on_decode_error=True)
    except EmptyPickleError:
        return None
    except Exception as error:  # fickling raises ValueError, NotImplementedError, struct errors...
        return Finding(
            "PKL002",
            Severity.ERROR,
            f"pickle cannot be decoded ({type(error).__name__}: {str(error)[:160]}); it could not be analysed",
            Location(member=where.member, offset=position),
        )


def check_pickle_stream(stream: BinaryIO, end: int, where: Location = NOWHERE, base_offset: int = 0) -> list[Finding]:
    """Analyse the pickles in `stream` from its current position up to `end` (several may follow each other,
    as in legacy PyTorch files). `base_offset` is where the stream starts in the file, for locations."""
    findings: list[Finding] = []
    position = stream.tell()
    if not is_installed("fickling"):
        at = Location(member=where.member, offset=base_offset + position)
        return [missing_extra_finding("fickling", "pickle analysis", at)]
    count = 0
    while position < end:
        if count and stream.read(1) != bytes([PROTO_OPCODE]):
            break  # not the start of another pickle: raw data follows (reported below)
        stream.seek(position)
        loaded = _load_one(stream, where, base_offset + position)
        if isinstance(loaded, Finding):
            return [*findings, loaded]
        if loaded is None:
            break
        count += 1
        with _quiet():
            findings += _analyse(loaded, where, base_offset)
        if stream.tell() <= position:
            break
        position = stream.tell()
    if count == 0:
        return [
            Finding(
                "PKL002",
                Severity.ERROR,
                "no pickle could be decoded here",
                Location(member=where.member, offset=base_offset + position),
            )
        ]
    if position < end:
        findings.append(
            Finding(
                "PKL004",
                Severity.WARNING,
                f"{end - position} bytes after the last pickle were not analysed (legacy tensor data or appended data)",
                Location(member=where.member, offset=base_offset + position),
            )
        )
    return findings
