"""Every class of malicious and benign file in the generated corpus (`corpus.py`, the one the peers
benchmark scans) gets the verdict it should: each malicious file is dangerous, no benign file is, and
benign files are read to the end. Nothing in the corpus is ever loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from artifact_builders import fires
from corpus import FAMILIES, CorpusFile, build_corpus

from uptake.scan import FileReport, Severity, Verdict, scan_path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _report(item: CorpusFile) -> FileReport:
    return scan_path(item.path, compute_hash=False).files[0]


@pytest.mark.parametrize("family", sorted(f for f, (malicious, _) in FAMILIES.items() if malicious))
def test_every_malicious_file_of_the_class_is_dangerous(family: str, corpus: list[CorpusFile]) -> None:
    items = [item for item in corpus if item.family == family]
    assert items
    missed = {item.variant: _report(item).verdict.value for item in items if _report(item).verdict != "dangerous"}
    assert missed == {}


@pytest.mark.parametrize("family", sorted(f for f, (malicious, _) in FAMILIES.items() if not malicious))
def test_no_benign_file_of_the_class_is_dangerous(family: str, corpus: list[CorpusFile]) -> None:
    items = [item for item in corpus if item.family == family]
    assert items
    verdicts = {item.variant: _report(item).verdict for item in items}
    assert [v for v, verdict in verdicts.items() if verdict is Verdict.DANGEROUS] == []
    assert [v for v, verdict in verdicts.items() if verdict is Verdict.UNREADABLE] == []


@pytest.mark.parametrize(
    ("rule", "severity", "family"),
    [
        ("PKL001", Severity.DANGEROUS, "pickle-odd-start"),
        ("PKL002", Severity.ERROR, "pickle-broken-tail"),
        ("PKL006", Severity.DANGEROUS, "pickle-frame-tamper"),
        ("ZIP006", Severity.DANGEROUS, "zip-tampered"),
        ("KERAS003", Severity.DANGEROUS, "keras-lambda"),
        ("PKL005", Severity.WARNING, "benign-torch"),
    ],
)
def test_the_class_reports_its_rule(rule: str, severity: Severity, family: str, corpus: list[CorpusFile]) -> None:
    findings = [f for item in corpus if item.family == family for f in _report(item).findings]
    fires(findings, rule, severity)


def test_a_broken_tail_still_names_the_dangerous_import(corpus: list[CorpusFile]) -> None:
    for item in corpus:
        if item.family == "pickle-broken-tail":
            findings = _report(item).findings
            callable_name = item.variant.rsplit("-", 1)[-1]
            fires(findings, "PKL001", Severity.DANGEROUS)
            assert callable_name in {f.evidence for f in findings if f.rule == "PKL001"}, item.variant


def test_compressed_joblib_bombs_and_non_pickles_are_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: list[CorpusFile]
) -> None:
    import zlib

    from uptake.scan.checks import compressed

    bomb = tmp_path / "bomb.joblib"
    bomb.write_bytes(zlib.compress(bytes(5_000_000), 9))
    monkeypatch.setattr(compressed, "MAX_INFLATED_BYTES", 1_000_000)
    fires(scan_path(bomb, compute_hash=False).files[0].findings, "CMP001", Severity.ERROR)
    # Read a few bytes at a time, every compressed container still yields its pickle.
    monkeypatch.setattr(compressed, "CHUNK_BYTES", 7)
    for item in corpus:
        if item.family == "joblib-compressed":
            assert scan_path(item.path, compute_hash=False).verdict is Verdict.DANGEROUS, item.variant
    text = tmp_path / "notes.gz"
    text.write_bytes(zlib.compress(b"just some text, no pickle here" * 10))
    fires(scan_path(text, compute_hash=False).files[0].findings, "CMP002", Severity.ERROR)


def test_an_odd_name_pickle_is_found_inside_a_folder_by_the_installed_cli(corpus: list[CorpusFile]) -> None:
    folder = next(item.path.parent for item in corpus if item.family == "pickle-odd-name")
    uptake = Path(sys.executable).with_name("uptake")
    done = subprocess.run([str(uptake), "scan", str(folder), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    import json

    report = json.loads(done.stdout)
    dangerous = {Path(f["path"]).name for f in report["files"] if f["verdict"] == "dangerous"}
    expected = {item.path.name for item in corpus if item.family == "pickle-odd-name" and item.path.parent == folder}
    assert expected <= dangerous


def test_allow_globals_clears_named_classes_but_never_a_dangerous_import(tmp_path: Path) -> None:
    import pickle

    from artifact_builders import marker_pickle

    uptake = Path(sys.executable).with_name("uptake")
    rebuilt = tmp_path / "model.pkl"
    # An unknown class, written by hand: GLOBAL mypkg.layers Dense, EMPTY_TUPLE, NEWOBJ, STOP.
    rebuilt.write_bytes(b"\x80\x02cmypkg.layers\nDense\n)\x81.")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(marker_pickle(tmp_path / "MARKER", 2))
    allow = tmp_path / "allow.txt"
    allow.write_text("# trusted\nmypkg.*\nscan_marker.leave_marker\n")
    plain = subprocess.run([str(uptake), "scan", str(rebuilt)], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1, plain.stdout  # a warning naming the class
    assert "mypkg.layers.Dense" in plain.stdout
    allowed = subprocess.run(
        [str(uptake), "scan", str(rebuilt), "--allow-globals", str(allow)], capture_output=True, text=True, timeout=120
    )
    assert allowed.returncode == 0, allowed.stdout
    still = subprocess.run(
        [str(uptake), "scan", str(evil), "--allow-globals", str(allow)], capture_output=True, text=True, timeout=120
    )
    assert still.returncode == 2
    allow.write_text("not a dotted name!\n")
    bad = subprocess.run(
        [str(uptake), "scan", str(rebuilt), "--allow-globals", str(allow)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 3 and "Traceback" not in bad.stderr and "allow" in bad.stderr
    assert not (tmp_path / "MARKER").exists()
    assert pickle.dumps is not None


def test_a_pickle_inside_a_7z_archive_is_found_whatever_the_archive_is_called(
    tmp_path: Path, corpus: list[CorpusFile]
) -> None:
    import py7zr

    evil = next(item for item in corpus if item.family == "pickle-plain")
    archive = tmp_path / "model.pt"  # named like a checkpoint, as in the published bypasses
    with py7zr.SevenZipFile(archive, "w") as packed:
        packed.write(evil.path, "inner/data.pkl")
    finding = fires(scan_path(archive, compute_hash=False).files[0].findings, "PKL001", Severity.DANGEROUS)
    assert finding.location.member == "inner/data.pkl"
    archive.write_bytes(archive.read_bytes()[:40])
    fires(scan_path(archive, compute_hash=False).files[0].findings, "SZ001", Severity.ERROR)
