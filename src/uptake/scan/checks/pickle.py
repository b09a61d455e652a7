"""Pickle analysis without unpickling: what every stream in a file imports, each import judged safe,
dangerous or unknown (`pickle_globals`).

The opcodes are read with `pickletools` (standard library, `pickle_ops`); nothing is imported or called,
and no optional package is needed. Every stream in a file is read, as legacy PyTorch loaders read five
streams back to back; a stream that breaks after a dangerous import is still dangerous (the loader ran the
import before it failed); a stream that cannot be read to its end is unreadable, never clean.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from uptake.scan.checks.pickle_globals import Safety, classify
from uptake.scan.checks.pickle_ops import LEGACY_TORCH_MAGIC, SNIFF_BYTES, StreamWalk, looks_like_pickle, walk_stream
from uptake.scan.report import NOWHERE, Finding, Location, Severity

MAX_STREAMS = 64
LEGACY_TORCH_STREAMS = 5  # magic number, protocol, system info, the object, the storage keys


def _findings(walk: StreamWalk, where: Location, base_offset: int) -> list[Finding]:
    findings = []
    unknown: list[str] = []
    for item in walk.imports:
        dotted = f"{item.module}.{item.name}"
        safety = classify(item.module, item.name)
        if safety is Safety.DANGEROUS:
            findings.append(
                Finding(
                    "PKL001",
                    Severity.DANGEROUS,
                    f"pickle imports {dotted}, which can run code when the file is loaded",
                    Location(member=where.member, offset=base_offset + item.offset),
                    dotted,
                )
            )
        elif safety is Safety.UNKNOWN and dotted not in unknown:
            unknown.append(dotted)
    for offset in walk.unresolved:
        findings.append(
            Finding(
                "PKL001",
                Severity.DANGEROUS,
                "pickle imports a global whose name is computed while loading, so what it runs cannot be known",
                Location(member=where.member, offset=base_offset + offset),
            )
        )
    if unknown:
        findings.append(
            Finding(
                "PKL005",
                Severity.WARNING,
                f"pickle rebuilds classes outside the known-safe list ({', '.join(unknown[:8])}"
                f"{', ...' if len(unknown) > 8 else ''}); loading needs their packages' code. "
                "Allow them with `uptake scan --allow-globals FILE` if you trust them",
                Location(member=where.member, offset=base_offset + walk.start),
                ", ".join(unknown),
            )
        )
    if walk.frame_problem is not None:
        findings.append(
            Finding(
                "PKL006",
                Severity.DANGEROUS,
                "an opcode crosses a FRAME boundary: readers disagree on such a pickle, a sign it was crafted to "
                "hide what it does",
                Location(member=where.member, offset=base_offset + walk.frame_problem),
            )
        )
    if walk.error is not None:
        findings.append(
            Finding(
                "PKL002",
                Severity.ERROR,
                f"pickle stops decoding ({walk.error}); what follows could not be analysed",
                Location(member=where.member, offset=base_offset + walk.end),
            )
        )
    return findings


def _is_legacy_torch(walk: StreamWalk) -> bool:
    return walk.first_value == LEGACY_TORCH_MAGIC


def check_pickle_stream(stream: BinaryIO, end: int, where: Location = NOWHERE, base_offset: int = 0) -> list[Finding]:
    """Analyse the pickles in `stream` from its current position up to `end`: the first one, and every
    further one that follows (whatever its first opcode). `base_offset` is where the stream starts in the
    file, for locations."""
    findings: list[Finding] = []
    position = stream.tell()
    legacy_torch = False
    for count in range(MAX_STREAMS):
        if position >= end:
            return findings
        if legacy_torch and count == LEGACY_TORCH_STREAMS:
            break
        if count:
            head = stream.read(min(SNIFF_BYTES, end - position))
            stream.seek(position)
            if not looks_like_pickle(head):
                break
        walk = walk_stream(stream, end)
        legacy_torch = legacy_torch or (count == 0 and _is_legacy_torch(walk))
        findings += _findings(walk, where, base_offset)
        if walk.error is not None or walk.end <= position:
            return findings
        position = walk.end
        stream.seek(position)
    if legacy_torch:
        return findings  # the raw tensor storages of a legacy PyTorch file follow its pickles
    findings.append(
        Finding(
            "PKL004",
            Severity.WARNING,
            f"{end - position} bytes after the last pickle were not analysed (appended data)",
            Location(member=where.member, offset=base_offset + position),
        )
    )
    return findings


def check_pickle_bytes(data: bytes, where: Location = NOWHERE) -> list[Finding]:
    return check_pickle_stream(io.BytesIO(data), len(data), where)
