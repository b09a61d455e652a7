"""Keras models are analysed from their config and HDF5 structure, never loaded: the files here are built
with h5py and zipfile as Keras 2 (tf.keras .h5) and Keras 3 (.keras) write them, without Keras itself.
"""

from __future__ import annotations

import codecs
import io
import json
import marshal
import random
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from uptake.scan.checks import keras
from uptake.scan.checks.keras import scan_hdf5, scan_keras_config, scan_keras_zip
from uptake.scan.report import Finding, Location, Severity

PAYLOAD = "touch /tmp/pwned"
BYTECODE = codecs.encode(
    marshal.dumps((lambda x: __import__("os").system("touch /tmp/pwned") or x).__code__), "base64"
).decode("ascii")  # built here, never unmarshalled by the scanner

INPUT_2 = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "in"}}
DENSE_2 = {
    "class_name": "Dense",
    "config": {
        "name": "dense",
        "units": 4,
        "activation": "relu",
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
    },
}
DROPOUT_2 = {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}}
LAMBDA_2 = {
    "class_name": "Lambda",
    "config": {
        "name": "sneaky",
        "function": [BYTECODE, None, None],
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": None,
        "output_shape_type": "raw",
        "arguments": {},
    },
}
TRAINING_2 = {
    "loss": "categorical_crossentropy",
    "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", "fn": "categorical_accuracy"}}]],
    "weighted_metrics": None,
    "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}},
}


def keras_object(module: str, class_name: str, config: Any, registered_name: str | None = None) -> dict[str, Any]:
    """An object as Keras 3 serializes it."""
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}


DENSE_3 = keras_object(
    "keras.layers",
    "Dense",
    {
        "name": "dense",
        "units": 4,
        "activation": "relu",
        "dtype": keras_object("keras", "DTypePolicy", {"name": "float32"}),
        "kernel_initializer": keras_object("keras.initializers", "GlorotUniform", {"seed": None}),
    },
)
LAMBDA_3 = keras_object(
    "keras.layers",
    "Lambda",
    {
        "name": "sneaky",
        "function": {"class_name": "__lambda__", "config": {"code": BYTECODE, "defaults": None, "closure": None}},
        "arguments": {},
    },
)


def sequential_2(*layers: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": list(layers)}}


def sequential_3(*layers: dict[str, Any], compile_config: Any = None) -> dict[str, Any]:
    model = keras_object("keras", "Sequential", {"name": "sequential", "layers": list(layers)})
    model["compile_config"] = compile_config or {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}
    return model


def write_weights(group: h5py.Group) -> None:
    dense = group.create_group("dense").create_group("dense")
    dense.create_dataset("kernel:0", data=np.zeros((8, 4), dtype="f4"))
    dense.create_dataset("bias:0", data=np.zeros(4, dtype="f4"))
    group["dense"].attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])


def write_h5(path: Path, model_config: Any = None, training_config: Any = None) -> Path:
    """An HDF5 file as tf.keras writes it: JSON configs as fixed-length byte attributes on the root."""
    with h5py.File(path, "w") as root:
        for name, config in (("model_config", model_config), ("training_config", training_config)):
            if config is not None:
                text = config if isinstance(config, str) else json.dumps(config)
                root.attrs[name] = np.bytes_(text.encode("utf-8"))
        root.attrs["keras_version"] = np.bytes_(b"2.15.0")
        write_weights(root.create_group("model_weights"))
    return path


def weights_h5(edit: Callable[[h5py.File], None] | None = None) -> bytes:
    """A Keras 3 model.weights.h5, optionally changed by `edit`."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as root:
        write_weights(root.create_group("layers"))
        if edit is not None:
            edit(root)
    return buffer.getvalue()


def keras_archive(path: Path, config: Any, weights: bytes | None = None) -> zipfile.ZipFile:
    """A .keras file (config.json, metadata.json, model.weights.h5), opened for reading."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if config is not None:
            archive.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.8.0", "date_saved": "2025-01-01"}))
        archive.writestr("model.weights.h5", weights_h5() if weights is None else weights)
    return zipfile.ZipFile(path)


def scan_archive_at(path: Path, config: Any, weights: bytes | None = None) -> list[Finding]:
    with keras_archive(path, config, weights) as archive:
        return scan_keras_zip(archive)


def severities(findings: list[Finding]) -> set[Severity]:
    return {finding.severity for finding in findings}


def rules(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]


def test_a_dense_only_h5_model_with_its_training_config_is_clean(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "model.h5", sequential_2(INPUT_2, DENSE_2, DROPOUT_2, DENSE_2), TRAINING_2)
    assert scan_hdf5(path) == []


def test_a_dense_only_keras_archive_is_clean(tmp_path: Path) -> None:
    assert scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3, DENSE_3)) == []


def test_a_lambda_layer_in_an_h5_model_is_dangerous_and_named(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "model.h5", sequential_2(INPUT_2, LAMBDA_2, DENSE_2))
    [finding] = scan_hdf5(path)
    assert (finding.rule, finding.severity) == ("KERAS003", Severity.DANGEROUS)
    assert "'sneaky'" in finding.message and "runs" in finding.message
    assert finding.location.key == "model_config.config.layers[1]"
    assert finding.evidence is not None and PAYLOAD in finding.evidence  # strings of the bytecode, not run


def test_a_keras_archive_with_a_lambda_is_dangerous_once(tmp_path: Path) -> None:
    findings = scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3, LAMBDA_3))
    [finding] = findings  # the layer and its __lambda__ function are one finding
    assert (finding.rule, finding.severity) == ("KERAS003", Severity.DANGEROUS)
    assert finding.location.member == "config.json" and "'sneaky'" in finding.message
    assert finding.evidence is not None and PAYLOAD in finding.evidence


@pytest.mark.parametrize(
    "config",
    [
        # a Functional model holding a Sequential that holds the Lambda
        {
            "class_name": "Functional",
            "config": {"name": "outer", "layers": [INPUT_2, sequential_2(DENSE_2, LAMBDA_2)]},
        },
        # wrappers
        sequential_2({"class_name": "TimeDistributed", "config": {"name": "td", "layer": LAMBDA_2}}),
        sequential_2({"class_name": "Bidirectional", "config": {"layer": DENSE_2, "backward_layer": LAMBDA_2}}),
    ],
    ids=["nested-model", "time-distributed", "bidirectional"],
)
def test_a_lambda_is_found_inside_nested_models_and_wrappers(config: dict[str, Any]) -> None:
    findings = scan_keras_config(json.dumps(config), Location(key="model_config"))
    assert [(f.rule, f.severity) for f in findings] == [("KERAS003", Severity.DANGEROUS)]


def test_a_keras2_lambda_naming_a_function_is_dangerous() -> None:
    config = {"name": "ev", "function": "eval", "function_type": "function", "module": "builtins"}
    layer = {"class_name": "Lambda", "config": config}
    [finding] = scan_keras_config(json.dumps(sequential_2(layer)), Location())
    assert (finding.rule, finding.severity, finding.evidence) == ("KERAS003", Severity.DANGEROUS, "ev: builtins.eval")


def test_a_serialized_lambda_outside_a_lambda_layer_is_dangerous() -> None:
    dense = json.loads(json.dumps(DENSE_3))
    dense["config"]["activation"] = {"class_name": "__lambda__", "config": {"value": [BYTECODE, None, None]}}
    [finding] = scan_keras_config(json.dumps(sequential_3(dense)), Location())
    assert (finding.rule, finding.severity) == ("KERAS003", Severity.DANGEROUS)
    assert finding.evidence is not None and PAYLOAD in finding.evidence


def test_a_lambda_calling_a_keras_gadget_is_dangerous(tmp_path: Path) -> None:
    """CVE-2025-9906: a Lambda in config.json that calls Keras's own functions to switch safe mode off."""
    gadget = keras_object("keras.config", "function", "enable_unsafe_deserialization", "function")
    layer = keras_object("keras.layers", "Lambda", {"name": "unlock", "function": gadget, "arguments": {}})
    findings = scan_archive_at(tmp_path / "model.keras", sequential_3(layer))
    assert sorted(rules(findings)) == ["KERAS003", "KERAS004"]
    assert severities(findings) == {Severity.DANGEROUS}
    assert all("keras.config.enable_unsafe_deserialization" in str(f.evidence) for f in findings)


@pytest.mark.parametrize(
    ("module", "name"),
    [("builtins", "eval"), ("os", "system"), ("subprocess", "check_output"), ("keras.utils", "get_file")],
)
def test_a_function_from_a_code_running_module_is_dangerous(module: str, name: str) -> None:
    dense = json.loads(json.dumps(DENSE_3))
    dense["config"]["activation"] = keras_object(module, "function", name, "function")
    findings = scan_keras_config(json.dumps(sequential_3(dense)), Location(member="config.json"))
    [finding] = findings
    assert (finding.rule, finding.severity, finding.evidence) == ("KERAS004", Severity.DANGEROUS, f"{module}.{name}")
    assert finding.location.key == "config.layers[0].config.activation"


def test_a_function_from_another_package_is_a_warning() -> None:
    loss = keras_object("my_losses.focal", "function", "focal_loss", "focal_loss")
    findings = scan_keras_config(json.dumps(sequential_3(DENSE_3, compile_config={"loss": loss})), Location())
    assert [(f.rule, f.severity, f.evidence) for f in findings] == [
        ("KERAS004", Severity.WARNING, "my_losses.focal.focal_loss")
    ]


@pytest.mark.parametrize(
    "layer",
    [
        {"class_name": "AttentionPooling", "config": {"name": "pool"}},  # Keras 2: a bare class name
        keras_object("my_package.layers", "AttentionPooling", {"name": "pool"}, "my_package>AttentionPooling"),
        # registered objects are looked up before the module, so a keras module does not make it Keras's own
        keras_object("keras.layers", "AttentionPooling", {"name": "pool"}, "Custom>AttentionPooling"),
        # a custom layer inside a Keras wrapper
        {"class_name": "Bidirectional", "config": {"layer": {"class_name": "AttentionPooling", "config": {}}}},
    ],
    ids=["keras2", "keras3-module", "registered-name", "wrapped"],
)
def test_a_custom_layer_is_a_warning(layer: dict[str, Any]) -> None:
    findings = scan_keras_config(json.dumps(sequential_2(DENSE_2, layer)), Location(member="config.json"))
    [finding] = findings
    assert (finding.rule, finding.severity) == ("KERAS005", Severity.WARNING)
    assert "custom layer class AttentionPooling" in finding.message


def test_a_custom_layer_in_a_bare_layer_list_is_a_warning() -> None:
    """Keras 2.0 kept a Sequential's layers as a bare list in its config."""
    config = {"class_name": "Sequential", "config": [DENSE_2, {"class_name": "AttentionPooling", "config": {}}]}
    assert rules(scan_keras_config(json.dumps(config), Location())) == ["KERAS005"]


def test_a_custom_model_class_in_an_h5_file_is_a_warning(tmp_path: Path) -> None:
    config = {"class_name": "MyResNet", "config": {"name": "resnet", "layers": [DENSE_2]}}
    findings = scan_hdf5(write_h5(tmp_path / "model.h5", config))
    assert [(f.rule, f.severity, f.location.key) for f in findings] == [("KERAS005", Severity.WARNING, "model_config")]


def test_an_unlisted_layer_from_a_keras_module_is_not_custom() -> None:
    layer = keras_object("keras.layers", "SomeNewKerasLayer", {"name": "new"})
    assert scan_keras_config(json.dumps(sequential_3(layer)), Location()) == []


@pytest.mark.parametrize(
    ("function", "severity"),
    [("math.add", Severity.INFO), ("__operators__.getitem", Severity.INFO), ("io.write_file", Severity.WARNING)],
)
def test_a_tensorflow_op_layer_is_reported_but_not_dangerous(function: str, severity: Severity) -> None:
    layer = {"class_name": "TFOpLambda", "config": {"name": f"tf.{function}", "function": function}}
    findings = scan_keras_config(json.dumps(sequential_2(DENSE_2, layer)), Location())
    assert [(f.rule, f.severity, f.evidence) for f in findings] == [("KERAS006", severity, function)]


def test_custom_losses_and_metrics_in_the_training_config_are_warnings(tmp_path: Path) -> None:
    training = {
        "loss": {"out_a": "mse", "out_b": "focal_loss"},
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "f1", "fn": "f1"}}]],
    }
    findings = scan_hdf5(write_h5(tmp_path / "model.h5", sequential_2(DENSE_2), training))
    assert [(f.rule, f.severity, f.location.key, f.evidence) for f in findings] == [
        ("KERAS008", Severity.WARNING, "training_config", "f1, focal_loss")
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"{not json",
        b'{"class_name": "Seq\xff"}',  # not UTF-8
        "[" * 100_000,  # deeper than the JSON parser goes
        "42",  # JSON, but not a model config
        json.dumps(sequential_2({"class_name": "Dense", "config": {"deep": json.loads("[" * 80 + "]" * 80)}})),
    ],
    ids=["malformed", "not-utf8", "parser-depth", "not-an-object", "walk-depth"],
)
def test_an_unreadable_config_is_an_error(text: bytes | str) -> None:
    findings = scan_keras_config(text, Location(member="config.json"))
    assert [(f.rule, f.severity) for f in findings] == [("KERAS002", Severity.ERROR)]
    assert findings[0].location.member == "config.json"


def test_malformed_json_in_an_h5_attribute_is_an_error(tmp_path: Path) -> None:
    findings = scan_hdf5(write_h5(tmp_path / "model.h5", '{"class_name": "Sequential", '))
    assert [(f.rule, f.severity, f.location.key) for f in findings] == [("KERAS002", Severity.ERROR, "model_config")]


def test_a_variable_length_string_config_is_read(tmp_path: Path) -> None:
    """Keras 3's legacy .h5 writer stores the config as a Python str (a variable-length HDF5 string)."""
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as root:
        root.attrs["model_config"] = json.dumps(sequential_2(LAMBDA_2))
    assert rules(scan_hdf5(path)) == ["KERAS003"]


def test_a_weights_only_h5_file_has_no_findings(tmp_path: Path) -> None:
    path = tmp_path / "model.weights.h5"
    path.write_bytes(weights_h5())
    assert scan_hdf5(path) == []


def test_a_hard_link_cycle_is_visited_once(tmp_path: Path) -> None:
    def loop(root: h5py.File) -> None:
        root["layers/dense/parent"] = root["layers"]

    path = tmp_path / "model.weights.h5"
    path.write_bytes(weights_h5(loop))
    assert scan_hdf5(path) == []


def external_link(root: h5py.File) -> None:
    root["layers/dense/stolen"] = h5py.ExternalLink("/home/user/.ssh/keys.h5", "/key")


def external_storage(root: h5py.File) -> None:
    root.create_dataset("layers/raw", shape=(4,), dtype="f4", external=[("/etc/passwd", 0, 16)])


def virtual_dataset(root: h5py.File) -> None:
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("/data/other.h5", "x", shape=(4,))
    root.create_virtual_dataset("layers/virtual", layout)


@pytest.mark.parametrize(
    ("edit", "evidence"),
    [
        (external_link, "/home/user/.ssh/keys.h5:/key"),
        (external_storage, "/etc/passwd"),
        (virtual_dataset, "/data/other.h5"),
    ],
    ids=["external-link", "external-storage", "virtual-dataset"],
)
def test_hdf5_that_reads_other_files_is_a_warning(
    tmp_path: Path, edit: Callable[[h5py.File], None], evidence: str
) -> None:
    path = tmp_path / "model.weights.h5"
    path.write_bytes(weights_h5(edit))
    findings = scan_hdf5(path)
    assert [(f.rule, f.severity, f.evidence) for f in findings] == [("KERAS007", Severity.WARNING, evidence)]


def test_a_virtual_dataset_over_the_same_file_is_not_reported(tmp_path: Path) -> None:
    def same_file(root: h5py.File) -> None:
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource(".", "layers/dense/dense/bias:0", shape=(4,))
        root.create_virtual_dataset("layers/virtual", layout)

    path = tmp_path / "model.weights.h5"
    path.write_bytes(weights_h5(same_file))
    with h5py.File(path, "r") as root:
        assert root["layers/virtual"].is_virtual  # the case is what it claims
    assert scan_hdf5(path) == []


def test_the_link_walk_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.weights.h5"
    path.write_bytes(weights_h5())
    monkeypatch.setattr(keras, "MAX_LINKS", 2)
    assert [(f.rule, f.severity) for f in scan_hdf5(path)] == [("KERAS001", Severity.ERROR)]


def test_a_config_attribute_in_keras_archive_weights_is_not_read(tmp_path: Path) -> None:
    """A .keras loader builds the model from config.json only; an attribute of its weights file is inert."""

    def stray_config(root: h5py.File) -> None:
        root.attrs["model_config"] = json.dumps(sequential_2(LAMBDA_2))

    assert scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3), weights_h5(stray_config)) == []


def test_an_external_link_in_a_keras_archive_is_a_warning(tmp_path: Path) -> None:
    findings = scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3), weights_h5(external_link))
    assert [(f.rule, f.location.member, f.location.key) for f in findings] == [
        ("KERAS007", "model.weights.h5", "/layers/dense/stolen")
    ]


@pytest.mark.parametrize("content", ["random", "hdf5-signature", "truncated"])
def test_a_file_that_is_not_hdf5_is_an_error_not_an_exception(tmp_path: Path, content: str) -> None:
    noise = random.Random(7).randbytes(4096)
    data = {
        "random": noise,
        "hdf5-signature": b"\x89HDF\r\n\x1a\n" + noise,
        "truncated": weights_h5()[:1500],
    }[content]
    path = tmp_path / "model.h5"
    path.write_bytes(data)
    findings = scan_hdf5(path)
    assert [(f.rule, f.severity) for f in findings] == [("KERAS001", Severity.ERROR)]


@pytest.mark.parametrize(
    ("probe", "says"),
    [("import time; time.sleep(60)", "took over"), ("import os; os.abort()", "exit status")],
    ids=["hangs", "crashes"],
)
def test_an_hdf5_reader_that_hangs_or_crashes_gives_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: str, says: str
) -> None:
    """The HDF5 library loops or crashes on some malformed files; it reads in a child process for that."""
    path = write_h5(tmp_path / "model.h5", sequential_2(DENSE_2))
    monkeypatch.setattr(keras, "_PROBE", probe)
    monkeypatch.setattr(keras, "HDF5_TIMEOUT_S", 1.0)
    [finding] = scan_hdf5(path)
    assert (finding.rule, finding.severity) == ("KERAS001", Severity.ERROR)
    assert says in finding.message


def test_a_corrupt_weights_member_is_an_error(tmp_path: Path) -> None:
    findings = scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3), b"not hdf5 at all")
    assert [(f.rule, f.severity, f.location.member) for f in findings] == [
        ("KERAS001", Severity.ERROR, "model.weights.h5")
    ]


def test_a_keras_archive_without_config_json_is_an_error(tmp_path: Path) -> None:
    findings = scan_archive_at(tmp_path / "model.keras", None)
    assert [(f.rule, f.severity) for f in findings] == [("KERAS009", Severity.ERROR)]


def test_every_config_json_of_an_archive_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(sequential_3(LAMBDA_3)))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("config.json", json.dumps(sequential_3(DENSE_3)))
    with zipfile.ZipFile(path) as archive:
        assert rules(scan_keras_zip(archive)) == ["KERAS003"]


def test_oversized_attributes_and_members_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_h5(tmp_path / "model.h5", sequential_2(DENSE_2))
    monkeypatch.setattr(keras, "MAX_ATTRIBUTE_BYTES", 64)
    assert [(f.rule, f.severity) for f in scan_hdf5(path)] == [("KERAS002", Severity.ERROR)]

    monkeypatch.setattr(keras, "MAX_CONFIG_BYTES", 64)
    monkeypatch.setattr(keras, "MAX_WEIGHTS_BYTES", 64)
    findings = scan_archive_at(tmp_path / "model.keras", sequential_3(DENSE_3))
    assert [(f.rule, f.severity, f.location.member) for f in findings] == [
        ("KERAS002", Severity.ERROR, "config.json"),
        ("KERAS010", Severity.INFO, "model.weights.h5"),
    ]


def test_an_attribute_array_is_not_read_as_a_config(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as root:
        root.attrs["model_config"] = np.array([b"{}", b"{}"])
    [finding] = scan_hdf5(path)
    assert (finding.rule, finding.severity) == ("KERAS002", Severity.ERROR)
    assert "not one string" in finding.message


def test_without_h5py_hdf5_is_unreadable_and_configs_are_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_h5(tmp_path / "model.h5", sequential_2(DENSE_2))
    archive_path = tmp_path / "model.keras"
    keras_archive(archive_path, sequential_3(LAMBDA_3)).close()
    monkeypatch.setitem(sys.modules, "h5py", None)  # a None makes `import h5py` raise ImportError

    [finding] = scan_hdf5(path)
    assert (finding.rule, finding.severity) == ("SCAN001", Severity.ERROR)
    assert "h5py" in finding.message
    with zipfile.ZipFile(archive_path) as archive:
        findings = scan_keras_zip(archive)
    assert [(f.rule, f.location.member) for f in findings] == [
        ("KERAS003", "config.json"),
        ("SCAN001", "model.weights.h5"),
    ]
