"""Checks on Keras models without loading them: HDF5 (.h5) files and .keras (v3) zip archives.

Keras rebuilds a model from its JSON config, and the config decides what code runs. A `Lambda` layer
carries marshalled Python bytecode (run by every HDF5 loader, by Keras 2, and by .keras loaders with
safe_mode=False). Any serialized object names a module and a class or function that Keras imports and
calls (`{"module": "builtins", "class_name": "function", "config": "eval"}`). A custom layer needs code
the user must have installed. In HDF5, links and storage can point at other files, which loading the
weights reads. Only attributes and link names are read: never dataset data, never a linked file, and
bytecode is base64-decoded for evidence but never unmarshalled. h5py reads in a child process with a
time limit, as the HDF5 library can loop or crash on a malformed file. h5py comes with the [scan] extra;
without it an HDF5 file is `unreadable` (SCAN001), never clean.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from uptake.scan.extras import is_installed, missing_extra_finding
from uptake.scan.report import NOWHERE, Finding, Location, Severity

MAX_ATTRIBUTE_BYTES = 16 << 20  # the config of a model with thousands of layers is a few MB
MAX_CONFIG_BYTES = 16 << 20
MAX_WEIGHTS_BYTES = 512 << 20  # a .keras weights member is read into memory to list its links
MAX_DEPTH = 64  # real configs nest about 10 levels, plus about 4 per nested model
MAX_LINKS = 1_000_000
HDF5_TIMEOUT_S = 60.0  # listing the links of a multi-GB weights file takes well under a second
MAX_CODE_CHARS = 64 << 10  # base64 decoded for evidence; only the first strings are shown
CONFIG_MEMBER = "config.json"
MEMBER_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError)

# Modules Keras would not import for a model of its own (keras_hub, keras_cv... are separate packages).
TRUSTED_PACKAGES = frozenset({"keras", "tf_keras", "tensorflow"})
# Importing a name from these runs commands, code or file operations with arguments from the file.
CODE_RUNNING_MODULES = frozenset(
    {
        "builtins", "__builtin__", "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "pickle",
        "marshal", "types", "shutil", "socket", "ctypes", "code", "pty", "io",
    }
)  # fmt: skip
# Keras's own functions that published safe_mode bypasses call from config.json: turning safe mode off
# (CVE-2025-9906), loading another model unsafely, downloading and writing files (CVE-2025-8747).
KERAS_GADGETS = frozenset({"enable_unsafe_deserialization", "set_global_attribute", "load_model", "get_file"})
# tf.keras layers that call a TensorFlow function by name, e.g. {"function": "math.add"}.
TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
TF_FILE_OPS = (
    "io.", "raw_ops.", "compat.v1.io.", "compat.v1.gfile", "compat.v1.py_func", "py_function", "numpy_function",
    "saved_model.", "summary.", "data.",
)  # fmt: skip
# Keys whose value is a layer, or a list of layers (Sequential/Functional, wrappers, RNN cells).
LAYER_KEYS = frozenset({"layers", "layer", "forward_layer", "backward_layer", "cell", "cells"})

# The layer classes Keras 3 (keras/src/layers/__init__.py) and tf.keras 2 serialize by class name, plus
# the model classes. Lambda and the TensorFlow op layers are left out: they get their own rules.
BUILTIN_LAYERS = frozenset(
    {
        # core, models and tf.keras internals
        "Layer", "InputLayer", "Dense", "EinsumDense", "Embedding", "ReversibleEmbedding", "Identity", "Masking",
        "Sequential", "Functional", "Model", "InstanceProperty", "InstanceMethod", "ClassMethod", "DenseFeatures",
        # activations
        "Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU",
        # attention
        "AdditiveAttention", "Attention", "GroupedQueryAttention", "MultiHeadAttention",
        # convolution
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
        "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
        "LocallyConnected1D", "LocallyConnected2D",
        # merging
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        # normalization
        "BatchNormalization", "SyncBatchNormalization", "LayerNormalization", "GroupNormalization",
        "UnitNormalization", "RMSNormalization", "SpectralNormalization",
        # pooling
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
        "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
        # preprocessing
        "CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IndexLookup", "IntegerLookup",
        "StringLookup", "TextVectorization", "Normalization", "Rescaling", "Resizing", "CenterCrop", "Pipeline",
        "MelSpectrogram", "STFTSpectrogram", "AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization",
        "CutMix", "Equalization", "MaxNumBoundingBoxes", "MixUp", "RandAugment", "RandomBrightness",
        "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomElasticTransform",
        "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale", "RandomHeight", "RandomHue",
        "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
        "RandomSharpness", "RandomShear", "RandomTranslation", "RandomWidth", "RandomZoom", "Solarization",
        # regularization
        "ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout", "GaussianNoise",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        # reshaping
        "Cropping1D", "Cropping2D", "Cropping3D", "Flatten", "Permute", "RepeatVector", "Reshape",
        "ReconstructPatches2D", "ReconstructPatches3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
        # recurrent
        "Bidirectional", "TimeDistributed", "RNN", "SimpleRNN", "GRU", "LSTM", "ConvLSTM1D", "ConvLSTM2D",
        "ConvLSTM3D", "SimpleRNNCell", "GRUCell", "LSTMCell", "PeepholeLSTMCell", "StackedRNNCells",
        "CuDNNGRU", "CuDNNLSTM",
    }
)  # fmt: skip

KNOWN_LAYERS = BUILTIN_LAYERS | TF_OP_LAYERS | {"Lambda"}

# Built-in losses and metrics, lowercased without underscores so that both the function name
# (mean_squared_error) and the class name (MeanSquaredError) match.
BUILTIN_TRAINING_NAMES = frozenset(
    {
        "meansquarederror", "mse", "meanabsoluteerror", "mae", "meanabsolutepercentageerror", "mape",
        "meansquaredlogarithmicerror", "msle", "binarycrossentropy", "bce", "binaryfocalcrossentropy",
        "categoricalcrossentropy", "categoricalfocalcrossentropy", "sparsecategoricalcrossentropy", "crossentropy",
        "ce", "hinge", "squaredhinge", "categoricalhinge", "kldivergence", "kld", "kullbackleiblerdivergence",
        "poisson", "cosinesimilarity", "cosineproximity", "logcosh", "logcosherror", "huber", "huberloss", "ctc",
        "dice", "tversky", "circle", "lossfunctionwrapper", "accuracy", "acc", "binaryaccuracy",
        "categoricalaccuracy", "sparsecategoricalaccuracy", "topkcategoricalaccuracy",
        "sparsetopkcategoricalaccuracy", "auc", "precision", "recall", "truepositives", "truenegatives",
        "falsepositives", "falsenegatives", "precisionatrecall", "recallatprecision", "sensitivityatspecificity",
        "specificityatsensitivity", "mean", "sum", "meantensor", "meanmetricwrapper", "meaniou", "iou", "binaryiou",
        "onehotiou", "onehotmeaniou", "rootmeansquarederror", "r2score", "f1score", "fbetascore",
        "meanrelativeerror", "pearsoncorrelation", "concordancecorrelation",
    }
)  # fmt: skip


def _short(value: Any, limit: int = 80) -> str:
    return str(value)[:limit]


def _config_of(obj: dict[str, Any]) -> dict[str, Any]:
    config = obj.get("config")
    return config if isinstance(config, dict) else {}


def _at(where: Location, path: str) -> Location:
    """`where` with the JSON path of a finding appended to its key (`model_config.config.layers[1]`)."""
    key = ".".join(part for part in (where.key, path) if part) or None
    return replace(where, key=key)


def _bytecode_evidence(code: Any) -> str:
    """Readable strings in the marshalled bytecode (names, constants such as a shell command); base64 only."""
    if isinstance(code, dict) and code.get("class_name") == "__lambda__":
        code = code.get("config")
    if isinstance(code, dict):  # Keras 3: {"code": ...} in a Lambda, {"value": [code, ...]} elsewhere
        code = code.get("code", code.get("value"))
    if isinstance(code, list) and code:  # [base64 code, defaults, closure]
        code = code[0]
    if not isinstance(code, str):
        return "no bytecode text"
    letters = re.sub(r"[^A-Za-z0-9+/]", "", code[:MAX_CODE_CHARS])
    try:
        raw = base64.b64decode(letters[: len(letters) // 4 * 4])
    except (binascii.Error, ValueError):
        return f"bytecode {code[:60]!r}"
    strings = [run.decode("ascii") for run in re.findall(rb"[\x20-\x7e]{4,}", raw)]
    return "strings in bytecode: " + ", ".join(strings) if strings else f"bytecode {code[:60]!r}"


def _function_reference(function: Any, config: dict[str, Any]) -> str | None:
    """The module.name a Lambda calls, when it names a function rather than holding bytecode."""
    if isinstance(function, dict) and function.get("class_name") == "function":  # Keras 3
        return f"{_short(function.get('module'))}.{_short(function.get('config'))}"
    if config.get("function_type") == "function" and isinstance(function, str):  # Keras 2
        return f"{_short(config.get('module'))}.{_short(function)}"
    return None


def _lambda_finding(obj: dict[str, Any], at: Location) -> Finding:
    config = _config_of(obj)
    name = _short(config.get("name", obj.get("name", "?")))
    function = config.get("function")
    reference = _function_reference(function, config)
    if reference is not None:
        message = (
            f"Lambda layer '{name}' calls the Python function {reference} with arguments from the file "
            "when Keras loads and runs the model"
        )
        return Finding("KERAS003", Severity.DANGEROUS, message, at, f"{name}: {reference}")
    message = (
        f"Lambda layer '{name}' holds marshalled Python bytecode, which Keras unmarshals and runs when it loads "
        "the model (HDF5 and Keras 2 loaders always, .keras loaders with safe_mode=False)"
    )
    return Finding("KERAS003", Severity.DANGEROUS, message, at, f"{name}: {_bytecode_evidence(function)}"[:200])


def _foreign_package(obj: dict[str, Any]) -> str | None:
    """The package outside Keras that an object comes from: its module, or the prefix of `Package>Name`."""
    module, registered = obj.get("module"), obj.get("registered_name")
    if isinstance(module, str) and module.split(".")[0] not in TRUSTED_PACKAGES:
        return module.split(".")[0]
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">")[0]
        return None if package.split(".")[0].lower() in TRUSTED_PACKAGES else package
    return None


def _tf_op_finding(obj: dict[str, Any], at: Location) -> Finding:
    # Not dangerous: Keras resolves the name only among TensorFlow's exported API functions, not any Python
    # callable, and calls it on symbolic tensors while building the model, so loading computes nothing.
    config = _config_of(obj)
    function = _short(config.get("function"))
    if function.startswith(TF_FILE_OPS):
        message = f"layer calls tf.{function}, which reads or writes files or runs Python, each time the model runs"
        return Finding("KERAS006", Severity.WARNING, message, at, function)
    message = f"layer calls the TensorFlow function tf.{function} by name when the model runs"
    return Finding("KERAS006", Severity.INFO, message, at, function)


def _object_findings(obj: dict[str, Any], at: Location, is_layer: bool, owner: str | None) -> list[Finding]:
    """Findings for one serialized object ({"class_name": ..., "config": ..., maybe "module"})."""
    class_name = _short(obj["class_name"])
    package = _foreign_package(obj)
    module = obj.get("module") if isinstance(obj.get("module"), str) else package
    name = _short(obj.get("config")) if class_name == "function" else class_name
    target = f"{_short(module)}.{name}" if module else name
    findings = []
    if class_name == "__lambda__" and owner != "Lambda":  # a Lambda layer's own function is reported with it
        message = "a serialized Python lambda (marshalled bytecode), which Keras unmarshals and runs when it loads it"
        findings.append(Finding("KERAS003", Severity.DANGEROUS, message, at, _bytecode_evidence(obj.get("config"))))
    elif class_name == "Lambda":
        findings.append(_lambda_finding(obj, at))
    elif class_name in TF_OP_LAYERS:
        findings.append(_tf_op_finding(obj, at))
    # A layer from a keras.* module is one of Keras's own even when this list does not know its name.
    unknown_layer = module is None and class_name not in KNOWN_LAYERS
    gadget = class_name == "function" and isinstance(obj.get("config"), str) and obj["config"] in KERAS_GADGETS
    if package in CODE_RUNNING_MODULES or gadget:
        message = f"names {target}; loading the model imports it and calls it with arguments from the file"
        findings.append(Finding("KERAS004", Severity.DANGEROUS, message, at, target))
    elif is_layer and (package is not None or unknown_layer):
        message = (
            f"custom layer class {class_name}: loading needs its code (from {package or 'custom_objects'}); "
            "allow it only if you trust that package"
        )
        findings.append(Finding("KERAS005", Severity.WARNING, message, at, target))
    elif package is not None:
        message = f"custom object {target}: loading imports and runs code from the package {package}"
        findings.append(Finding("KERAS004", Severity.WARNING, message, at, target))
    return findings


@dataclass
class _ConfigWalk:
    """Visits every serialized object of a config, knowing which ones stand where a layer goes."""

    where: Location
    findings: list[Finding] = field(default_factory=list)
    too_deep: bool = False

    def visit(self, value: Any, path: str, is_layer: bool, owner: str | None, depth: int) -> None:
        if depth > MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                message = f"config nests deeper than {MAX_DEPTH} levels; what lies deeper was not checked"
                self.findings.append(Finding("KERAS002", Severity.ERROR, message, _at(self.where, path)))
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.visit(item, f"{path}[{index}]", is_layer, owner, depth + 1)
            return
        if not isinstance(value, dict):
            return
        class_name = value.get("class_name")
        if isinstance(class_name, str):
            self.findings += _object_findings(value, _at(self.where, path), is_layer, owner)
            owner = class_name
        for key, child in value.items():
            # Keras 2.0's Sequential kept its layers as a bare list in "config".
            child_is_layer = key in LAYER_KEYS or (key == "config" and isinstance(child, list) and owner is not None)
            child_path = f"{path}.{_short(key, 64)}" if path else _short(key, 64)
            self.visit(child, child_path, child_is_layer, owner, depth + 1)


def _parse_config(config_text: bytes | str, where: Location, what: str) -> Any | Finding:
    if len(config_text) > MAX_CONFIG_BYTES:
        message = f"{what} of {len(config_text)} bytes is larger than {MAX_CONFIG_BYTES >> 20} MiB and was not checked"
        return Finding("KERAS002", Severity.ERROR, message, where)
    try:
        text = config_text.decode("utf-8") if isinstance(config_text, bytes) else config_text
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        message = f"{what} is not readable JSON ({_short(error, 160)}); nothing in it was checked"
        return Finding("KERAS002", Severity.ERROR, message, where)


def scan_keras_config(config_text: bytes | str, where: Location) -> list[Finding]:
    """Findings for a Keras model config: the `model_config` of an HDF5 file or config.json of a .keras file."""
    config = _parse_config(config_text, where, "model config")
    if isinstance(config, Finding):
        return [config]
    if not isinstance(config, dict):
        return [Finding("KERAS002", Severity.ERROR, "model config is not a JSON object; Keras cannot load it", where)]
    walk = _ConfigWalk(where)
    walk.visit(config, "", True, None, 0)  # the root is the model, which may itself be a custom class
    return walk.findings


def _training_names(value: Any, depth: int = 0) -> list[str]:
    """The loss and metric names in a training config entry: strings, class names and wrapped functions."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _training_names(item, depth + 1)]
    if not isinstance(value, dict):
        return []
    if not isinstance(value.get("class_name"), str):  # {"output name": loss, ...}
        return [name for item in value.values() for name in _training_names(item, depth + 1)]
    config = value.get("config")
    wrapped = config.get("fn") if isinstance(config, dict) else None  # MeanMetricWrapper / LossFunctionWrapper
    return [value["class_name"], *([wrapped] if isinstance(wrapped, str) else [])]


def _training_config_findings(config_text: bytes | str, where: Location) -> list[Finding]:
    config = _parse_config(config_text, where, "training config")
    if isinstance(config, Finding):
        return [config]
    walk = _ConfigWalk(where)
    walk.visit(config, "", False, None, 0)
    if not isinstance(config, dict):
        return walk.findings
    names = {name for key in ("loss", "metrics", "weighted_metrics") for name in _training_names(config.get(key))}
    custom = sorted(name for name in names if name.lower().replace("_", "") not in BUILTIN_TRAINING_NAMES)
    if custom:
        message = (
            "training config names custom losses or metrics; compiling the loaded model needs their code, "
            "which the user must supply"
        )
        walk.findings.append(Finding("KERAS008", Severity.WARNING, message, where, _short(", ".join(custom), 200)))
    return walk.findings


# The HDF5 library loops forever or crashes on some malformed files, and a hostile model must not hang or
# kill the scanner, so h5py reads in a child process with a time limit. The child imports only h5py (-P:
# not from the folder it runs in), reads the two config attributes when they are one bounded string, lists
# external links and external or virtual storage (H5Lvisit follows no link out of the file and enters no
# group twice), and prints it all as JSON; the findings are made here.
_PROBE = """
import io, json, sys
import h5py

request = json.loads(sys.argv[1])
limit = request["max_attribute_bytes"]
report = {"attributes": {}, "links": [], "too_many_links": False, "error": None}
count = [0]


def read_attribute(root, name):
    # A variable-length string's storage size is that of its pointer; its text, in the file's heap, is at
    # most the file's size. Arrays of them are refused: each element may point at the same large text.
    attribute = root.attrs.get_id(name)
    if attribute.shape not in ((), (1,)) or attribute.get_storage_size() > limit:
        return {"problem": "is not one string"}
    value = root.attrs[name]
    if not isinstance(value, (bytes, str)) and getattr(value, "size", None) == 1:
        value = value.item()
    if not isinstance(value, (bytes, str)) or len(value) > limit:
        return {"problem": "is not text"}
    return {"bytes": value.decode("latin-1")} if isinstance(value, bytes) else {"text": value}


def visit(name, link):
    count[0] += 1
    if count[0] > request["max_links"]:
        report["too_many_links"] = True
        return True
    if isinstance(link, h5py.ExternalLink):
        report["links"].append(["external", name, f"{link.filename}:{link.path}"])
    elif isinstance(link, h5py.HardLink) and root.get(name, getclass=True) is h5py.Dataset:
        dataset = root[name]  # the path holds hard links only
        if dataset.external:
            report["links"].append(["storage", name, ", ".join(str(entry[0]) for entry in dataset.external)])
        files = sorted({s.file_name for s in dataset.virtual_sources()} - {"."}) if dataset.is_virtual else []
        if files:  # "." maps data from the same file
            report["links"].append(["virtual", name, ", ".join(files)])
    return None


try:
    source = request["path"] or io.BytesIO(sys.stdin.buffer.read())
    with h5py.File(source, "r", locking=False) as root:
        for name in request["attributes"]:
            if name in root.attrs:
                report["attributes"][name] = read_attribute(root, name)
        root.visititems_links(visit)
except Exception as error:
    report["error"] = f"{type(error).__name__}: {str(error)[:160]}"
sys.stdout.write(json.dumps(report))
"""
LINK_MESSAGES = {
    "external": "external link to another HDF5 file; reading the model through it opens that file on the loader's disk",
    "storage": "dataset's data lives in external raw files; loading the weights reads them from the loader's disk",
    "virtual": "virtual dataset maps data from other HDF5 files; loading the weights reads them from the loader's disk",
}
CONFIG_ATTRIBUTES = ("model_config", "training_config")


def _probe(source: Path | bytes, with_config: bool) -> dict[str, Any] | str:
    """What the child read from the HDF5 file, or why it gave nothing back."""
    request = {
        "path": str(source) if isinstance(source, Path) else None,
        "attributes": CONFIG_ATTRIBUTES if with_config else [],
        "max_attribute_bytes": MAX_ATTRIBUTE_BYTES,
        "max_links": MAX_LINKS,
    }
    command = [sys.executable, "-P", "-c", _PROBE, json.dumps(request)]
    stdin = source if isinstance(source, bytes) else b""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=HDF5_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"reading it took over {HDF5_TIMEOUT_S:g} s (malformed HDF5 can make the HDF5 library loop)"
    except OSError as error:
        return f"the HDF5 reader could not start ({_short(error, 160)})"
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last_line = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        return f"the HDF5 reader stopped with exit status {done.returncode} {_short(last_line, 160)}".strip()
    return report if isinstance(report, dict) else "the HDF5 reader gave back no report"


def _attribute_findings(attributes: dict[str, Any], where: Location) -> list[Finding]:
    findings: list[Finding] = []
    for name, scan in (("model_config", scan_keras_config), ("training_config", _training_config_findings)):
        value, at = attributes.get(name), replace(where, key=name)
        if value is None:
            continue
        if "problem" in value:
            message = f"the {name} attribute {value['problem']} of at most {MAX_ATTRIBUTE_BYTES >> 20} MiB; not checked"
            findings.append(Finding("KERAS002", Severity.ERROR, message, at))
        else:
            findings += scan(value["bytes"].encode("latin-1") if "bytes" in value else value["text"], at)
    return findings


def _hdf5_findings(source: Path | bytes, where: Location, with_config: bool) -> list[Finding]:
    report = _probe(source, with_config)
    unread = replace(where, offset=where.offset or 0)
    if isinstance(report, str):
        return [Finding("KERAS001", Severity.ERROR, f"HDF5 file cannot be read: {report}; nothing was checked", unread)]
    findings = _attribute_findings(report["attributes"], where)
    for kind, name, target in report["links"]:
        at = replace(where, key=f"/{name}"[:200])
        findings.append(Finding("KERAS007", Severity.WARNING, LINK_MESSAGES[kind], at, target[:200]))
    if report["too_many_links"]:
        message = f"HDF5 file holds more than {MAX_LINKS} links; the rest were not checked"
        findings.append(Finding("KERAS001", Severity.ERROR, message, where))
    if report["error"]:
        message = f"HDF5 file cannot be read ({report['error']}); what follows the failure was not checked"
        findings.append(Finding("KERAS001", Severity.ERROR, message, unread))
    return findings


def scan_hdf5(path: Path) -> list[Finding]:
    """Findings for an HDF5 file: a Keras 2 / tf.keras model (model_config attribute) or a weights file."""
    if not is_installed("h5py"):
        return [missing_extra_finding("h5py", "HDF5 (Keras) analysis")]
    return _hdf5_findings(path, NOWHERE, with_config=True)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The member's bytes, or None when it inflates beyond `limit`."""
    if info.file_size > limit:
        return None
    with archive.open(info) as member:
        data = member.read(limit + 1)
    return None if len(data) > limit else data


def _config_member_findings(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Finding]:
    at = Location(member=info.filename)
    data = _read_member(archive, info, MAX_CONFIG_BYTES)
    if data is None:
        message = f"model config larger than {MAX_CONFIG_BYTES >> 20} MiB was not checked"
        return [Finding("KERAS002", Severity.ERROR, message, at)]
    return scan_keras_config(data, at)


def _weights_member_findings(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Finding]:
    at = Location(member=info.filename)
    if not is_installed("h5py"):
        return [missing_extra_finding("h5py", "HDF5 (Keras) analysis", at)]
    data = _read_member(archive, info, MAX_WEIGHTS_BYTES)
    if data is None:
        message = (
            f"weights of {info.file_size} bytes, over {MAX_WEIGHTS_BYTES >> 20} MiB, were not checked for links "
            "to other files"
        )
        return [Finding("KERAS010", Severity.INFO, message, at)]
    return _hdf5_findings(data, at, with_config=False)


def scan_keras_zip(archive: zipfile.ZipFile) -> list[Finding]:
    """Findings for a .keras (Keras 3) archive: config.json, and the links of its HDF5 weights."""
    infos = archive.infolist()
    findings: list[Finding] = []
    if not any(info.filename == CONFIG_MEMBER for info in infos):
        message = ".keras archive has no config.json: there is no model config to check, and Keras cannot load it"
        findings.append(Finding("KERAS009", Severity.ERROR, message, Location(offset=0)))
    for info in infos:
        if info.is_dir() or not (info.filename == CONFIG_MEMBER or info.filename.endswith(".h5")):
            continue
        try:
            if info.filename == CONFIG_MEMBER:  # every copy: zipfile reads the last of duplicated names
                findings += _config_member_findings(archive, info)
            else:
                findings += _weights_member_findings(archive, info)
        except MEMBER_READ_ERRORS as error:
            message = f"archive member cannot be read ({_short(error, 160)}); it was not checked"
            findings.append(Finding("KERAS001", Severity.ERROR, message, Location(member=info.filename)))
    return findings
