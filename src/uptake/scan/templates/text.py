"""Checks on the literal text inside a chat template: network addresses, encoded blobs, invisible characters.

A chat template has no reason to carry a URL, a base64 blob or characters the user cannot see; each is
a way to smuggle instructions to the model or data out of a conversation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace

from uptake.scan.report import Finding, Location, Severity

# Every pattern here runs on hostile text, so none may backtrack: runs are possessive (`++`, `{n,}+`)
# and anchored by lookarounds, which keeps matching linear in the length of the text.
URL = re.compile(r"\b(?:https?|ftp|wss?|file|data|gopher)://[^\s'\"<>`]++|\bdata:[\w/+.-]++;base64,", re.IGNORECASE)
IPV4 = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.])")
HOST_RUN = re.compile(r"(?<![A-Za-z0-9.-])[A-Za-z0-9.-]{4,253}+(?![A-Za-z0-9.-])")
HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
TOP_LEVEL_DOMAINS = frozenset(
    {"com", "net", "org", "io", "ru", "cn", "xyz", "top", "info", "biz", "co", "me", "ai", "app", "dev", "site"}
    | {"online", "onion", "click", "link", "tk"}
)
BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{40,}+={0,2}")
HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{48,}+(?![0-9A-Za-z])")
TAG_CHARACTERS = re.compile("[\U000e0000-\U000e007f]+")
# Zero-width characters and bidirectional overrides ("Trojan Source").
HIDDEN_CHARACTERS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
EVIDENCE_CHARS = 120


def clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _decoded_preview(run: str) -> str | None:
    """The decoded text of a base64 run when it decodes to readable text, else None."""
    padded = run + "=" * (-len(run) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    return text if text and printable / len(text) > 0.9 else None


def _looks_encoded(run: str) -> bool:
    # Long identifiers and words are not blobs; encoded data mixes cases and digits.
    return any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)


def _domains(text: str) -> list[str]:
    """Host names with a top-level domain that is a common home of collection endpoints."""
    found = []
    for match in HOST_RUN.finditer(text):
        labels = match.group(0).strip(".-").split(".")
        if len(labels) >= 2 and labels[-1].lower() in TOP_LEVEL_DOMAINS and all(map(HOST_LABEL.fullmatch, labels)):
            found.append(".".join(labels))
    return found


def _address_findings(text: str, where: Location) -> list[Finding]:
    found = [match.group(0) for pattern in (URL, IPV4) for match in pattern.finditer(text)]
    found += _domains(text)
    if not found:
        return []
    return [
        Finding(
            "TPL009",
            Severity.WARNING,
            "chat template contains a network address; a template has no reason to name one",
            where,
            clip(", ".join(dict.fromkeys(found))),
        )
    ]


def _blob_findings(text: str, where: Location) -> list[Finding]:
    findings = []
    for match in BASE64_RUN.finditer(text):
        run = match.group(0)
        if not _looks_encoded(run):
            continue
        preview = _decoded_preview(run)
        evidence = clip(run, 60) + (f" (decodes to: {clip(preview, 80)})" if preview else "")
        findings.append(
            Finding("TPL010", Severity.WARNING, "chat template contains an encoded blob (base64-like)", where, evidence)
        )
    findings.extend(
        Finding(
            "TPL010",
            Severity.WARNING,
            "chat template contains an encoded blob (long hex run)",
            where,
            clip(m.group(0), 60),
        )
        for m in HEX_RUN.finditer(text)
    )
    return findings


def _invisible_findings(text: str, where: Location) -> list[Finding]:
    findings = []
    for match in TAG_CHARACTERS.finditer(text):
        hidden = "".join(chr(ord(ch) - 0xE0000) for ch in match.group(0))
        findings.append(
            Finding(
                "TPL011",
                Severity.DANGEROUS,
                "chat template hides text in invisible Unicode tag characters that the model reads",
                where,
                clip(f"hidden text: {hidden!r}"),
            )
        )
    hidden_marks = HIDDEN_CHARACTERS.findall(text)
    if hidden_marks:
        codes = ", ".join(dict.fromkeys(f"U+{ord(ch):04X}" for ch in hidden_marks))
        findings.append(
            Finding(
                "TPL011",
                Severity.WARNING,
                "chat template contains zero-width or text-direction control characters",
                where,
                codes,
            )
        )
    return findings


def check_text(text: str, where: Location, first_line: int | None) -> list[Finding]:
    """Checks on one piece of literal template text (a string constant or raw template data), line by line."""
    findings: list[Finding] = []
    for index, line_text in enumerate(text.split("\n")):
        at = replace(where, line=first_line + index) if first_line is not None else where
        findings += _address_findings(line_text, at)
        findings += _blob_findings(line_text, at)
        findings += _invisible_findings(line_text, at)
    return findings
