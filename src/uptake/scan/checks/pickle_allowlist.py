"""The globals an ordinary model checkpoint needs. Anything a pickle imports outside this list is dangerous.

An allow-list, not a deny-list: a deny-list of "bad" functions is bypassed by the next function nobody
listed. These are the names that `torch.save` of a state dict, NumPy arrays and plain Python containers
produce; each either builds a plain value or rebuilds a tensor from bytes already in the file.
"""

from __future__ import annotations

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


def is_allowed(module: str, name: str) -> bool:
    return (module, name) in ALLOWED_GLOBALS
