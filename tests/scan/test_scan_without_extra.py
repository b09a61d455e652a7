"""Without the [scan] extra (h5py, onnx, cyclonedx) the gate still scans every pull and import, and a
file that needs a missing package is unreadable, never clean and never registered unscanned.

The end-to-end tests run the installed `uptake` in a subprocess whose `sitecustomize` makes those three
imports fail, as they fail where the extra is not installed; the in-process tests hide them through
`sys.modules`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from artifact_builders import fires, marker_pickle, pytorch_zip, scan_one, state_dict_pickle

from tiny_gguf import write_tiny_gguf
from uptake.errors import BlockedModelError
from uptake.scan import Severity, Verdict
from uptake.scan.bom import bom_json
from uptake.scan.extras import INSTALL_HINT, MissingExtraError
from uptake.scan.gate import scan_gate
from uptake.scan.report import EXIT_FAILED, EXIT_USAGE
from uptake.scan.scanner import scan_path

EXTRA_MODULES = ("h5py", "py7zr", "onnx", "cyclonedx")
HDF5_BYTES = b"\x89HDF\r\n\x1a\n" + bytes(64)
HOSTILE_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
HIDE_EXTRA = textwrap.dedent(
    f"""
    import sys

    HIDDEN = {EXTRA_MODULES!r}

    class HideScanExtra:
        '''Fails the import of the [scan] extra's packages, as where they are not installed.'''

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, HideScanExtra())
    """
)


@pytest.fixture(scope="module")
def hide_extra(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("no-scan-extra")
    (folder / "sitecustomize.py").write_text(HIDE_EXTRA)
    return folder


def run_without_extra(hide_extra: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A process that cannot import the extra; `args` start with "uptake" for the console script."""
    script = Path(sys.executable).parent / "uptake"
    command = [str(script), *args[1:]] if args[0] == "uptake" else [sys.executable, *args]
    if args[0] == "uptake" and not script.exists():
        command = [sys.executable, "-m", "uptake", *args[1:]]
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hide_extra), env.get("PYTHONPATH")]))
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def no_extra_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the extra in this process: a None in sys.modules makes `import x` raise ImportError."""
    for name in [*EXTRA_MODULES, *(m for m in sys.modules if m.startswith(tuple(f"{n}." for n in EXTRA_MODULES)))]:
        monkeypatch.setitem(sys.modules, name, None)


def test_the_subprocess_really_lacks_the_extra_and_still_has_the_scanner(hide_extra: Path) -> None:
    for module in EXTRA_MODULES:
        result = run_without_extra(hide_extra, "-c", f"import {module}")
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, module
    result = run_without_extra(hide_extra, "-c", "import uptake.cli.main, uptake.scan.gate")
    assert result.returncode == 0, result.stderr


def test_import_of_a_clean_gguf_is_scanned_and_registered(hide_extra: Path, tmp_path: Path) -> None:
    clean = write_tiny_gguf(tmp_path / "clean.gguf")
    imported = run_without_extra(hide_extra, "uptake", "import", str(clean), "--name", "clean")
    assert imported.returncode == 0, imported.stderr
    shown = run_without_extra(hide_extra, "uptake", "show", "clean", "--json")
    assert shown.returncode == 0, shown.stderr
    scan = json.loads(shown.stdout)["last_scan"]
    assert scan is not None and scan["verdict"] == "clean"
    assert scan["files"][0]["sha256"] == hashlib.sha256(clean.read_bytes()).hexdigest()


def test_import_of_a_gguf_with_a_hostile_template_is_refused(hide_extra: Path, tmp_path: Path) -> None:
    hostile = write_tiny_gguf(tmp_path / "hostile.gguf", chat_template=HOSTILE_TEMPLATE)
    refused = run_without_extra(hide_extra, "uptake", "import", str(hostile), "--name", "hostile")
    assert refused.returncode == 2
    assert "dangerous" in refused.stderr and "TPL002" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(run_without_extra(hide_extra, "uptake", "list", "--json").stdout) == []


def test_scan_of_a_keras_file_is_unreadable_and_names_the_extra(hide_extra: Path, tmp_path: Path) -> None:
    evil = tmp_path / "model.h5"
    evil.write_bytes(HDF5_BYTES)
    as_json = run_without_extra(hide_extra, "uptake", "scan", str(evil), "--json")
    assert as_json.returncode == EXIT_FAILED, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["verdict"] == "unreadable" and report["counts"]["clean"] == 0
    assert [f["rule"] for f in report["files"][0]["findings"] if f["severity"] != "info"] == ["SCAN001"]
    as_text = run_without_extra(hide_extra, "uptake", "scan", str(evil))
    assert as_text.returncode == EXIT_FAILED
    assert "UNREADABLE" in as_text.stdout and INSTALL_HINT in " ".join(as_text.stdout.split())
    assert "clean" not in as_text.stdout.lower()


def test_pickles_need_no_extra(hide_extra: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(marker_pickle(tmp_path / "MARKER", 2))
    as_json = run_without_extra(hide_extra, "uptake", "scan", str(evil), "--json")
    assert as_json.returncode == EXIT_FAILED, as_json.stderr
    assert json.loads(as_json.stdout)["verdict"] == "dangerous"
    assert not (tmp_path / "MARKER").exists()


def test_bom_without_cyclonedx_is_a_one_line_usage_error(hide_extra: Path, tmp_path: Path) -> None:
    model = write_tiny_gguf(tmp_path / "x.gguf")
    out = tmp_path / "out.json"
    result = run_without_extra(hide_extra, "uptake", "scan", str(model), "--bom", str(out))
    assert result.returncode == EXIT_USAGE, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert INSTALL_HINT in result.stderr and "cyclonedx" in result.stderr
    assert not out.exists()


# ---------------------------------------------------------------- in process


@pytest.mark.usefixtures("no_extra_here")
def test_pickles_are_analysed_without_the_extra_and_hdf5_is_unreadable(tmp_path: Path) -> None:
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(marker_pickle(tmp_path / "MARKER", 4))
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(pytorch_zip(state_dict_pickle({"w": ("0", (2,))}), {"0": b"\0" * 8}))
    objects = tmp_path / "objects.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    objects.write_bytes(buffer.getvalue())
    assert scan_one(raw).verdict is Verdict.DANGEROUS
    assert scan_one(checkpoint).verdict is Verdict.CLEAN
    assert scan_one(objects).verdict is Verdict.CLEAN
    keras = tmp_path / "model.h5"
    keras.write_bytes(HDF5_BYTES)
    report = scan_one(keras)
    assert report.verdict is Verdict.UNREADABLE
    assert INSTALL_HINT in fires(report.findings, "SCAN001", Severity.ERROR).message
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.usefixtures("no_extra_here")
def test_onnx_without_onnx_is_unreadable(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07\x12\x04test")  # an ir_version field, then a producer name
    fires(scan_one(model).findings, "SCAN001", Severity.ERROR)


@pytest.mark.usefixtures("no_extra_here")
def test_gguf_and_templates_are_checked_all_the_same(tmp_path: Path) -> None:
    assert scan_path(write_tiny_gguf(tmp_path / "clean.gguf")).verdict is Verdict.CLEAN
    hostile = write_tiny_gguf(tmp_path / "hostile.gguf", chat_template=HOSTILE_TEMPLATE)
    assert scan_path(hostile).verdict is Verdict.DANGEROUS


@pytest.mark.usefixtures("no_extra_here")
def test_the_gate_refuses_a_file_it_cannot_check(tmp_path: Path) -> None:
    evil = tmp_path / "model.h5"
    evil.write_bytes(HDF5_BYTES)
    sha256 = hashlib.sha256(evil.read_bytes()).hexdigest()
    with pytest.raises(BlockedModelError, match=r"unreadable: SCAN001 .*uptake\[scan\]") as refused:
        scan_gate(force=False)(evil, None, sha256)
    assert "\n" not in str(refused.value)
    forced = scan_gate(force=True)(evil, None, sha256)
    assert forced["verdict"] == "unreadable"


@pytest.mark.usefixtures("no_extra_here")
def test_bom_without_cyclonedx_raises_a_usage_error(tmp_path: Path) -> None:
    report = scan_path(write_tiny_gguf(tmp_path / "x.gguf"))
    with pytest.raises(MissingExtraError, match=r"uptake\[scan\]") as missing:
        bom_json(report)
    assert missing.value.exit_code == EXIT_USAGE
