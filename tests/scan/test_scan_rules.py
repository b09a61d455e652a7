"""The rule list, the code and the tests agree: every rule is documented, reported by the code, and
has a test that makes it fire (clean fixtures of every format check that it stays quiet)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from uptake.scan.rules import RULES

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "uptake" / "scan"
TESTS = Path(__file__).resolve().parent
DOC = Path(__file__).resolve().parents[2] / "docs" / "scan-schema.md"
RULE_ID = re.compile(r'"([A-Z]+[0-9]{3})"')


def test_every_rule_the_code_reports_is_listed_and_every_listed_rule_is_reported() -> None:
    reported = {
        rule for path in PACKAGE.rglob("*.py") if path.name != "rules.py" for rule in RULE_ID.findall(path.read_text())
    }
    assert reported == set(RULES)


def _fired_in(path: Path) -> set[str]:
    """Rule ids passed to `fires(...)`, and those of (rule, severity[, ...]) tuples that tests compare with."""
    fired = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "fires":
            rule = node.args[1] if len(node.args) > 1 else None
            if isinstance(rule, ast.Constant) and isinstance(rule.value, str):
                fired.add(rule.value)
        elif isinstance(node, ast.Tuple) and len(node.elts) >= 2:
            first, second = node.elts[0], node.elts[1]
            severity = (isinstance(second, ast.Attribute) and second.attr.isupper()) or (
                isinstance(second, ast.Name) and second.id == "severity"
            )
            if isinstance(first, ast.Constant) and RULE_ID.fullmatch(f'"{first.value}"') and severity:
                fired.add(str(first.value))
    return fired


def test_every_rule_has_a_test_that_makes_it_fire() -> None:
    fired = set().union(*(_fired_in(path) for path in TESTS.glob("test_scan_*.py")))
    assert set(RULES) - fired == set()


def test_every_rule_is_documented() -> None:
    doc = DOC.read_text()
    assert [rule for rule in RULES if f"`{rule}`" not in doc] == []
