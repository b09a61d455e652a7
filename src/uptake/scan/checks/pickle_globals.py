"""What a pickle's imports mean: known safe, able to run code, or an unknown class (docs/scan-schema.md).

Three answers, in this order:
1. known safe (`ALLOWED_GLOBALS`): the names that `torch.save` of a state dict, NumPy, joblib and plain
   Python values produce; each builds a plain value or rebuilds a tensor from bytes already in the file;
2. dangerous: anything else that can run or reach code. Every function (a lower-case name: loading
   calls it with arguments the file chooses), anything from a module that runs programs, touches files,
   the network or the interpreter (`DANGEROUS_MODULES`, classes included: `subprocess.Popen`,
   `logging.FileHandler`), dunder attributes, and names a pickle builds at load time (unresolved);
3. unknown: a class-like name (capitalised) from any other module, such as `torch.nn.modules.linear.Linear`
   or a scikit-learn estimator. Loading needs that package's code, so it is a warning that names them;
   a user who trusts them lists them in an allow-list file (`uptake scan --allow-globals FILE`).
   An allow-list file never clears a dangerous name.
"""

from __future__ import annotations

import _compat_pickle
import contextvars
from enum import StrEnum
from pathlib import Path

_TORCH_STORAGES = (
    "ByteStorage",
    "CharStorage",
    "ShortStorage",
    "IntStorage",
    "LongStorage",
    "HalfStorage",
    "FloatStorage",
    "DoubleStorage",
    "BFloat16Storage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QUInt8Storage",
    "QInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "UntypedStorage",
)
_TORCH_DTYPES = (
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e5m2",
)
_TORCH_REBUILDERS = (
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_qtensor",
    "_rebuild_sparse_tensor",
    "_rebuild_meta_tensor_no_storage",
)
_NUMPY_CORE = ("_reconstruct", "scalar")
_NUMPY_DTYPE_CLASSES = (
    "Float16DType",
    "Float32DType",
    "Float64DType",
    "Int8DType",
    "Int16DType",
    "Int32DType",
    "Int64DType",
    "UInt8DType",
    "UInt16DType",
    "UInt32DType",
    "UInt64DType",
    "BoolDType",
    "Complex64DType",
    "Complex128DType",
)

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("__builtin__", "set"),
        ("__builtin__", "frozenset"),
        ("__builtin__", "bytearray"),
        # Protocol 2 writes bytes as _codecs.encode(text, "latin1"): text in, bytes out.
        ("_codecs", "encode"),
        ("builtins", "object"),
        ("types", "SimpleNamespace"),
        ("builtins", "range"),
        ("builtins", "Ellipsis"),
        ("builtins", "NotImplemented"),
        ("__builtin__", "object"),
        ("__builtin__", "complex"),
        ("copy_reg", "_reconstructor"),
        ("collections", "Counter"),
        ("collections", "deque"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        # A compiled regular expression pickles as re._compile(pattern, flags): text in, pattern out.
        ("re", "_compile"),
        ("pathlib", "PurePath"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "PureWindowsPath"),
        ("pathlib._local", "PurePath"),
        ("pathlib._local", "PurePosixPath"),
        ("pathlib._local", "PureWindowsPath"),
        # dill names built-in types by name: _load_type('list') returns the type object.
        ("dill._dill", "_load_type"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # Rebuilds an instance of a class that must itself be an allowed global.
        ("copyreg", "_reconstructor"),
        ("argparse", "Namespace"),
        ("torch", "Size"),
        ("torch", "device"),
        ("torch", "Tensor"),
        ("torch.nn.parameter", "Parameter"),
        ("torch.serialization", "_get_layout"),
        ("torch", "strided"),
        ("torch", "sparse_coo"),
        ("torch", "contiguous_format"),
        ("torch", "channels_last"),
        ("torch", "preserve_format"),
        ("torch", "per_tensor_affine"),
        ("torch", "per_channel_affine"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        *(("torch", name) for name in _TORCH_STORAGES),
        *(("torch", name) for name in _TORCH_DTYPES),
        *(("torch._utils", name) for name in _TORCH_REBUILDERS),
        *(("numpy.core.multiarray", name) for name in _NUMPY_CORE),
        *(("numpy._core.multiarray", name) for name in _NUMPY_CORE),
        *(("numpy.dtypes", name) for name in _NUMPY_DTYPE_CLASSES),
    ]
)


# Modules whose every name may act on the machine: programs, files, network, the interpreter itself.
_DANGEROUS_MODULE_NAMES = """
    os posix nt sys subprocess builtins __builtin__ io _io runpy importlib imp pkgutil zipimport code codeop
    pty shutil tempfile socket socketserver ssl select selectors asyncio multiprocessing concurrent threading
    _thread signal ctypes cffi marshal pickle _pickle cPickle dill cloudpickle shelve dbm sqlite3 types
    operator _operator functools itertools inspect gc weakref webbrowser http urllib urllib2 urllib3
    requests httpx ftplib smtplib imaplib poplib telnetlib xmlrpc nntplib mailbox logging bdb pdb profile
    cProfile timeit trace pydoc doctest unittest venv ensurepip pip setuptools distutils idlelib tkinter
    turtle antigravity platform sysconfig site glob fileinput linecache tokenize zipfile tarfile gzip bz2
    lzma mmap fcntl resource pwd grp spwd crypt termios tty readline rlcompleter cmd sched _posixsubprocess
    _osx_support _aix_support _pyrepl numpy.testing numpy.f2py numpy.distutils numpy.lib.npyio numpy.lib._npyio_impl
    numpy.lib._datasource torch.hub torch.jit torch.utils.cpp_extension torch.serialization torch.package
    torch._dynamo torch._inductor torch.distributed joblib.parallel keras.src.saving IPython jinja2
    aiohttp paramiko fabric invoke pexpect sh plumbum boto3 botocore s3fs fsspec smbclient docker kubernetes
    websocket websockets grpc yaml
    """
DANGEROUS_MODULES = frozenset(_DANGEROUS_MODULE_NAMES.split())
# Dunders that lead from any object to code or the interpreter's globals.
_INERT_DUNDERS = frozenset({"__new__", "__init__"})


class Safety(StrEnum):
    SAFE = "safe"
    UNKNOWN = "unknown"
    DANGEROUS = "dangerous"


USER_ALLOWED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("scan_user_allowed", default=frozenset())


def _in_module(module: str, modules: frozenset[str]) -> bool:
    parts = module.split(".")
    return any(".".join(parts[: i + 1]) in modules for i in range(len(parts)))


def _user_allows(module: str, name: str) -> bool:
    allowed = USER_ALLOWED.get()
    if not allowed:
        return False
    parts = module.split(".")
    return f"{module}.{name}" in allowed or any(f"{'.'.join(parts[: i + 1])}.*" in allowed for i in range(len(parts)))


def classify(module: str, name: str) -> Safety:
    """Safe, dangerous or unknown (see the module's docstring for the rule)."""
    # Python 2 names, mapped as the unpickler maps them (`fix_imports`): __builtin__.long is builtins.int.
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if (module, name) in ALLOWED_GLOBALS:
        return Safety.SAFE
    last = name.rsplit(".", 1)[-1]
    dunder = any(part.startswith("__") and part not in _INERT_DUNDERS for part in name.split("."))
    if dunder or _in_module(module, DANGEROUS_MODULES) or not last[:1].isupper():
        return Safety.DANGEROUS
    return Safety.SAFE if _user_allows(module, name) else Safety.UNKNOWN


def read_allow_list(path: Path) -> frozenset[str]:
    """An allow-list file: one `module.Name` or `module.*` a line; `#` starts a comment. Raises ValueError
    naming the first line that is not a dotted name."""
    entries = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        body = line[:-2] if line.endswith(".*") else line
        if not body or not all(part.isidentifier() for part in body.split(".")) or "." not in line:
            raise ValueError(f"{path}:{number}: '{line}' is not a global such as 'package.module.Class' or 'package.*'")
        entries.add(line)
    return frozenset(entries)
