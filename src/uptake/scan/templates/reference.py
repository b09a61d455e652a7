"""Compare a model's chat template with the reference template of its family in the catalog.

A re-upload that keeps the weights but edits the template can change what every prompt says. When the
file is the published one the difference is the publisher's own (reported for information); when it is
not, any difference from the family's reference is a warning, with the diff as evidence.
"""

from __future__ import annotations

import difflib

from uptake.models.catalog import CatalogEntry
from uptake.scan.report import Finding, Location, Severity

MAX_DIFF_LINES = 12


def _changed_lines(reference: str, template: str) -> tuple[list[str], int | None]:
    """The +/- lines of a unified diff, and the template line of the first change."""
    diff = list(
        difflib.unified_diff(reference.splitlines(), template.splitlines(), "reference", "model", n=0, lineterm="")
    )
    first_line = None
    changed = []
    for line in diff:
        if line.startswith("@@") and first_line is None:
            # "@@ -a,b +c,d @@": c is where the change starts in the model's template.
            new_side = line.split("+", 1)[1].split(" ", 1)[0]
            first_line = max(1, int(new_side.split(",")[0]))
        elif line[:1] in "+-" and not line.startswith(("+++", "---")):
            changed.append(line)
    return changed, first_line


def compare_with_reference(
    template: str | None, entry: CatalogEntry, published: bool, where: Location
) -> list[Finding]:
    """Findings for the template against `entry`'s family reference. `published`: the file is the catalog's own."""
    reference = entry.reference_template()
    if reference is None:
        return [Finding("TPL013", Severity.INFO, f"the catalog has no reference template for {entry.name}", where)]
    if template is None:
        return [
            Finding(
                "TPL013",
                Severity.INFO,
                f"the file carries no chat template; uptake uses the {entry.chat_template} reference template",
                where,
            )
        ]
    if template == reference:
        return [
            Finding("TPL013", Severity.INFO, f"chat template is the {entry.chat_template} reference template", where)
        ]
    changed, first_line = _changed_lines(reference, template)
    severity = Severity.INFO if published else Severity.WARNING
    if not changed:
        return [
            Finding(
                "TPL013",
                severity,
                f"chat template differs from the {entry.chat_template} reference only in whitespace",
                where,
            )
        ]
    added = sum(line.startswith("+") for line in changed)
    removed = len(changed) - added
    whose = "as published" if published else "in this copy"
    evidence = "\n".join(changed[:MAX_DIFF_LINES]) + ("\n…" if len(changed) > MAX_DIFF_LINES else "")
    return [
        Finding(
            "TPL013",
            severity,
            f"chat template {whose} differs from the {entry.chat_template} reference: +{added} -{removed} lines",
            Location(member=where.member, key=where.key, offset=where.offset, line=first_line),
            evidence,
        )
    ]
