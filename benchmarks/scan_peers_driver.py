"""Ask the peer scanners (picklescan, modelscan, fickling, aisbom) for a verdict on each of a list of files.

Runs inside the peers' venv (benchmarks/scan_peers.py creates it), never in uptake's:

    ~/.cache/uptake-bench/peers-venv/bin/python benchmarks/scan_peers_driver.py --peer picklescan files.json
    echo '["/tmp/a.pkl"]' | .../peers-venv/bin/python benchmarks/scan_peers_driver.py --peer fickling
    .../peers-venv/bin/python benchmarks/scan_peers_driver.py --versions
    .../peers-venv/bin/python benchmarks/scan_peers_driver.py --aisbom-corpus /tmp/dir

Each peer is called through its Python API in this one process, so the time per file is the scan and not
an interpreter start-up. Every answer is mapped to one of uptake's verdicts (see VERDICT MAPPING below);
the peer's own words are kept next to it in `raw`. Any exception a peer raises on a file, or a scan that
runs past --timeout, makes that file `unreadable` with the message. The peers are static scanners and are
only called through their static entry points (fickling: `scan_file`/`scan_zip_archive`, never its
loading hooks); as a guard, pickle.load/loads and marshal.loads are replaced for the whole run by a trap
that raises, and a file on which a peer reached the trap is reported with `loaded: true`.

VERDICT MAPPING (dangerous > unreadable > warning > clean, the order uptake itself uses):
  picklescan  `scan_file_path(path)`; dangerous: a global it classes Dangerous (its "Dangerous globals"/
              "Infected files" count, the CLI's exit 1); unreadable: scan_err (CLI exit 2), nothing scanned,
              or it logged that it could not parse the file or a zip member; warning: a Suspicious global
              (not on its allow-list nor its deny-list; --strict, which promotes those, is off).
  modelscan   `ModelScan().scan(path)`; dangerous: an issue of severity CRITICAL or HIGH ("can execute code"
              / "can still be exploited" in its docs/severity_levels.md); unreadable: any error, or nothing
              scanned (its CLI exits 2 or 3); warning: MEDIUM or LOW issues (MEDIUM is where it puts Keras
              Lambda layers and unknown operators). Its CLI exits 1 on an issue of any severity. Its .keras
              scanner needs modelscan[tensorflow], which is not installed: .keras files come out unreadable.
  fickling    zip files: `scan_zip_archive(path, graceful=True)` (members named .pkl/.pickle/.bin), other
              files: `scan_file(path, graceful=True)` (stacked pickles), as its own Hugging Face scan does
              (fickling's format sniffing needs torch, which is not installed). dangerous: analysis severity
              LIKELY_UNSAFE, LIKELY_OVERTLY_MALICIOUS or OVERTLY_MALICIOUS; unreadable: a parse/read error,
              or a zip with no pickle member to analyse; warning: POSSIBLY_UNSAFE or SUSPICIOUS. Its CLI and
              `is_likely_safe` call anything above LIKELY_SAFE unsafe (exit 1).
  aisbom      `DeepScanner(path).scan()`; dangerous: a CRITICAL risk (its CLI's exit 2); unreadable: an
              entry in `errors` (unsupported file type, could not read; its CLI's exit 1) or no artifact;
              warning: MEDIUM (it rates every pickle at least "MEDIUM (Pickle Present)"; HIGH is unused);
              clean: LOW.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import importlib.metadata
import io
import json
import logging
import marshal
import os
import pickle
import signal
import sys
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

# aisbom: no telemetry, no version check, no Hugging Face look-up; the machine has no network anyway.
os.environ.setdefault("AISBOM_NO_TELEMETRY", "1")
os.environ.setdefault("AISBOM_OFFLINE", "1")
os.environ.setdefault("AISBOM_NO_HF_LOOKUP", "1")

DISTRIBUTIONS = {
    "picklescan": "picklescan",
    "modelscan": "modelscan",
    "fickling": "fickling",
    "aisbom": "aisbom-cli",
}
SUPPORT_DISTRIBUTIONS = ("h5py", "py7zr", "numpy")


@dataclass
class Answer:
    """One peer's answer on one file."""

    verdict: str  # clean | warning | unreadable | dangerous
    raw: str  # the peer's own words, shortened
    details: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    path: str
    verdict: str
    raw: str
    seconds: float
    details: list[str]
    loaded: bool = False


Scanner = Callable[[Path], Answer]


class ScanTimeout(Exception):
    pass


class LoadAttempt(Exception):
    """A peer called pickle.load/loads or marshal.loads: it tried to deserialize the file."""


class LoadTrap:
    """Replaces the deserializers for the run, and remembers whether anything reached them."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.saved: dict[tuple[Any, str], Any] = {}

    def _trap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            caller = str(sys._getframe(1).f_globals.get("__name__", ""))
            if caller.startswith(("importlib", "_frozen_importlib")):  # a lazy import reading a .pyc
                return original(*args, **kwargs)
            self.hits.append(f"{name} from {caller}")
            raise LoadAttempt(f"{name} was called; the benchmark refuses to deserialize a scanned file")

        return refuse

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        targets = [(pickle, "load"), (pickle, "loads"), (marshal, "loads")]
        for module, name in targets:
            original = getattr(module, name)
            self.saved[(module, name)] = original
            setattr(module, name, self._trap(f"{module.__name__}.{name}", original))
        try:
            yield
        finally:
            for (module, name), original in self.saved.items():
                setattr(module, name, original)


class LogCapture(logging.Handler):
    """Collects a peer's log records (instead of letting them reach stderr) for the current file."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


def capture_logger(name: str) -> LogCapture:
    handler = LogCapture()
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    return handler


def shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------------------ peers


def picklescan_scanner() -> Scanner:
    scanner = importlib.import_module("picklescan.scanner")
    log = capture_logger("picklescan")

    def scan(path: Path) -> Answer:
        log.take()
        result = scanner.scan_file_path(str(path))
        records = log.take()
        could_not = [
            record.getMessage()
            for record in records
            if record.levelno >= logging.ERROR
            or "could not parse" in record.getMessage()
            or "Invalid file" in record.getMessage()
        ]
        dangerous = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety.value == "dangerous"})
        suspicious = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety.value == "suspicious"})
        raw = (
            f"dangerous globals {result.issues_count}, suspicious {result.suspicious_count}, "
            f"scanned {result.scanned_files}, scan_err {result.scan_err}"
        )
        details = [f"dangerous: {name}" for name in dangerous] + [f"suspicious: {name}" for name in suspicious]
        details += [shorten(message) for message in could_not]
        if result.issues_count > 0:
            return Answer("dangerous", raw, details)
        if result.scan_err or result.scanned_files == 0 or could_not:
            return Answer("unreadable", raw, details)
        if result.suspicious_count > 0:
            return Answer("warning", raw, details)
        return Answer("clean", raw, details)

    return scan


def modelscan_scanner() -> Scanner:
    modelscan = importlib.import_module("modelscan.modelscan")
    settings = importlib.import_module("modelscan.settings")
    capture_logger("modelscan")
    scanner = modelscan.ModelScan(settings=copy.deepcopy(settings.DEFAULT_SETTINGS))

    def scan(path: Path) -> Answer:
        scanner.scan(str(path))
        severities = sorted({issue.severity.name for issue in scanner.issues.all_issues})
        errors = [shorten(str(error)) for error in scanner.errors]
        details = [
            f"{issue.severity.name}: {shorten(str(issue.details.output_json()))}" for issue in scanner.issues.all_issues
        ]
        details += [f"error: {error}" for error in errors]
        raw = f"issues {severities or 'none'}, errors {len(errors)}, scanned {len(scanner.scanned)}"
        if {"CRITICAL", "HIGH"} & set(severities):
            return Answer("dangerous", raw, details)
        if errors or not scanner.scanned:
            skipped = [shorten(f"skipped: {s.source}: {s.message}") for s in scanner.skipped]
            return Answer("unreadable", raw, details + skipped)
        if severities:
            return Answer("warning", raw, details)
        return Answer("clean", raw, details)

    return scan


FICKLING_DANGEROUS = ("LIKELY_UNSAFE", "LIKELY_OVERTLY_MALICIOUS", "OVERTLY_MALICIOUS")
FICKLING_WARNING = ("POSSIBLY_UNSAFE", "SUSPICIOUS")


def fickling_scanner() -> Scanner:
    loader = importlib.import_module("fickling.loader")
    analysis = importlib.import_module("fickling.analysis")
    order = [level.name for level in analysis.Severity]

    def scan(path: Path) -> Answer:
        if zipfile.is_zipfile(path):
            members = loader.scan_zip_archive(str(path), graceful=True)
            results = list(members.values())
            if not results:
                return Answer("unreadable", "zip without a .pkl/.pickle/.bin member: nothing analysed")
        else:
            results = [loader.scan_file(str(path), graceful=True)]
        # The severity the analyses reached; ScanResult.severity also rises on a parse error, kept apart here.
        analysed = [item.severity.name for result in results for item in result.results]
        level = max(analysed, key=order.index, default="LIKELY_SAFE")
        errors = [shorten(error) for result in results for error in result.errors]
        findings = [
            shorten(f"{finding.severity.name}: {finding}")
            for result in results
            for item in result.results
            for finding in item.results
            if finding.severity.name != "LIKELY_SAFE"
        ]
        raw = f"severity {level}, errors {len(errors)}"
        details = findings[:20] + [f"error: {error}" for error in errors]
        if level in FICKLING_DANGEROUS:
            return Answer("dangerous", raw, details)
        if errors:
            return Answer("unreadable", raw, details)
        if level in FICKLING_WARNING:
            return Answer("warning", raw, details)
        return Answer("clean", raw, details)

    return scan


def aisbom_scanner() -> Scanner:
    scanner_module = importlib.import_module("aisbom.scanner")

    def scan(path: Path) -> Answer:
        result = scanner_module.DeepScanner(str(path)).scan()
        levels = [str(artifact.get("risk_level") or "") for artifact in result["artifacts"]]
        errors = [shorten(str(error.get("error", error))) for error in result["errors"]]
        raw = "; ".join(levels) or "no artifact"
        details = [f"error: {error}" for error in errors]
        if any("CRITICAL" in level.upper() for level in levels):
            return Answer("dangerous", raw, details)
        if errors or not levels or any(level.upper().startswith("UNKNOWN") for level in levels):
            return Answer("unreadable", raw, details)
        if any(level.upper().startswith(("MEDIUM", "HIGH")) for level in levels):
            return Answer("warning", raw, details)
        return Answer("clean", raw, details)

    return scan


PEERS: dict[str, Callable[[], Scanner]] = {
    "picklescan": picklescan_scanner,
    "modelscan": modelscan_scanner,
    "fickling": fickling_scanner,
    "aisbom": aisbom_scanner,
}

# --------------------------------------------------------------------------------------------- running


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in (*DISTRIBUTIONS.values(), *SUPPORT_DISTRIBUTIONS):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise ScanTimeout


def scan_one(scan: Scanner, path: Path, timeout_s: float, trap: LoadTrap) -> Outcome:
    before = len(trap.hits)
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the results only
            answer = scan(path)
    except ScanTimeout:
        answer = Answer("unreadable", f"timed out after {timeout_s:g} s")
    except (Exception, SystemExit) as error:  # a peer failing on a file is an answer, not a crash
        where = traceback.extract_tb(error.__traceback__)[-1]
        answer = Answer(
            "unreadable", shorten(f"{type(error).__name__}: {error}"), [f"raised at {where.filename}:{where.lineno}"]
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - started
    loaded = len(trap.hits) > before
    return Outcome(str(path), answer.verdict, answer.raw, round(seconds, 6), answer.details, loaded)


def warmup_paths(paths: list[Path]) -> list[Path]:
    """The first file of each suffix: imports a peer makes lazily land here, not in the timed pass."""
    first: dict[str, Path] = {}
    for path in paths:
        first.setdefault(path.suffix.lower(), path)
    return list(first.values())


def run_peer(name: str, paths: list[Path], timeout_s: float, out: TextIO) -> None:
    """One JSON line per file, flushed as it is written, so a crash loses only the files not yet reached."""
    header: dict[str, Any] = {"peer": name, "version": versions().get(DISTRIBUTIONS[name])}
    try:
        scan = PEERS[name]()
    except Exception as error:
        header["error"] = shorten(f"cannot set up {name}: {type(error).__name__}: {error}")
        out.write(json.dumps(header) + "\n")
        return
    out.write(json.dumps(header) + "\n")
    out.flush()
    trap = LoadTrap()
    signal.signal(signal.SIGALRM, _on_alarm)
    with trap.armed():
        for path in warmup_paths(paths):
            scan_one(scan, path, timeout_s, trap)
        for path in paths:
            out.write(json.dumps(asdict(scan_one(scan, path, timeout_s, trap))) + "\n")
            out.flush()
    out.write(json.dumps({"done": True, "load_attempts": trap.hits}) + "\n")


def limit_memory(gib: float) -> None:
    """A peer that blows up on a file hits MemoryError (-> unreadable) instead of the machine's limit."""
    import resource

    limit = int(gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def generate_aisbom_corpus(target: Path) -> list[dict[str, Any]]:
    """aisbom's bypass corpus (aisbom/corpus.py, generated from its inert primitives), one folder per case."""
    corpus = importlib.import_module("aisbom.corpus")
    cases: list[dict[str, Any]] = []
    for case in corpus.CASES:
        folder = target / case.id
        folder.mkdir(parents=True, exist_ok=True)
        entry: dict[str, Any] = {"id": case.id, "malicious": case.malicious, "expected": case.expected}
        try:
            case.builder(folder)
        except Exception as error:
            entry["error"] = shorten(f"{type(error).__name__}: {error}")
        entry["files"] = [str(path) for path in sorted(folder.rglob("*")) if path.is_file()]
        cases.append(entry)
    return cases


def read_paths(source: str | None) -> list[Path]:
    text = sys.stdin.read() if source in (None, "-") else Path(source).read_text(encoding="utf-8")
    return [Path(item) for item in json.loads(text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="?", help="JSON list of file paths (default: stdin)")
    parser.add_argument("--peer", choices=sorted(PEERS), action="append", help="peer(s) to run (default: all)")
    parser.add_argument("--stream", action="store_true", help="JSON lines as files are scanned (for scan_peers.py)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per file per peer")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="address-space limit of this process")
    parser.add_argument("--versions", action="store_true", help="print the peers' versions and exit")
    parser.add_argument("--aisbom-corpus", type=Path, metavar="DIR", help="write aisbom's bypass corpus to DIR")
    args = parser.parse_args()
    real_stdout = sys.stdout
    if args.versions:
        print(json.dumps(versions()))
        return
    if args.aisbom_corpus:
        with contextlib.redirect_stdout(sys.stderr):
            cases = generate_aisbom_corpus(args.aisbom_corpus)
        print(json.dumps(cases))
        return
    limit_memory(args.memory_gib)
    paths = read_paths(args.files)
    peers = args.peer or list(PEERS)
    if args.stream:
        for name in peers:
            run_peer(name, paths, args.timeout, real_stdout)
        return
    buffer = io.StringIO()
    for name in peers:
        run_peer(name, paths, args.timeout, buffer)
    print(json.dumps(collect(buffer.getvalue().splitlines()), indent=2))


def collect(lines: list[str]) -> dict[str, Any]:
    """The streamed lines as one document: {"versions": ..., "results": {peer: [outcome, ...]}}."""
    document: dict[str, Any] = {"versions": versions(), "setup_errors": {}, "results": {}, "load_attempts": {}}
    peer = ""
    for line in lines:
        record = json.loads(line)
        if "peer" in record:
            peer = record["peer"]
            document["results"][peer] = []
            if "error" in record:
                document["setup_errors"][peer] = record["error"]
        elif "done" in record:
            document["load_attempts"][peer] = record["load_attempts"]
        else:
            document["results"][peer].append(record)
    return document


if __name__ == "__main__":
    main()
