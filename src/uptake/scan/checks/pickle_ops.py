"""Follow a pickle's opcodes without running them: which globals it imports, and where reading stops.

The opcodes are decoded by the standard library's `pickletools.genops`; nothing is imported or called.
On top of it a small stack tracker keeps just what is needed to name every import: the strings on the
stack and in the memo, so that `STACK_GLOBAL` (protocol 4+) is resolved the way the unpickler would.
A full symbolic interpreter (fickling's) stops on valid pickles it does not model (`BYTEARRAY8`,
deques filled by `APPENDS`), which made ordinary files unreadable; the imports are all a verdict needs.

Every import is recorded as soon as its opcode is read, so a dangerous call followed by bytes that do not
decode is still reported: the loader has run it before it fails. The tracker also keeps the few values
joblib's arrays need (ints, tuples, dicts, dtype codes): joblib writes an array's raw bytes right after
its wrapper's BUILD, and its unpickler reads them there, so they are stepped over the same way.
"""

from __future__ import annotations

import io
import pickletools
import re
from dataclasses import dataclass, field
from typing import BinaryIO

SNIFF_BYTES = 1 << 16  # enough of unknown bytes to tell whether they are a pickle
MAX_ARGUMENT_BYTES = 1 << 28  # one opcode argument; more is a decompression of memory, not a checkpoint
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
IMPORTING = frozenset({"GLOBAL", "INST"})
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_STRING_OPS = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
)
_MARK = object()
_UNKNOWN = object()
_INT_OPS = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})
_TUPLE_SIZES = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")


@dataclass(frozen=True)
class _Global:
    module: str
    name: str


@dataclass(frozen=True)
class _DType:
    code: str  # numpy.dtype's first argument, such as 'f8' or 'O8'


class _JoblibArray:
    """An array joblib writes as a wrapper object whose BUILD is followed by the array's raw bytes."""


@dataclass(frozen=True)
class RawArray:
    """Raw bytes that joblib's unpickler reads right after a wrapper's BUILD (not opcodes)."""

    nbytes: int
    aligned: bool
    pickled: bool  # an object array: a nested pickle follows instead


@dataclass(frozen=True)
class ImportedGlobal:
    module: str
    name: str
    offset: int  # of the opcode, from the start of the stream's buffer


@dataclass
class StreamWalk:
    """What reading one pickle stream found."""

    start: int
    end: int  # where reading stopped: after STOP, or at the opcode that failed
    imports: list[ImportedGlobal] = field(default_factory=list)
    unresolved: list[int] = field(default_factory=list)  # STACK_GLOBAL / EXT offsets whose target is unknown
    error: str | None = None  # why reading stopped before STOP
    opcodes: int = 0
    frame_problem: int | None = None  # offset of an opcode that crosses a FRAME boundary
    first_value: object = None  # the first pushed constant (the legacy PyTorch magic number)

    @property
    def stopped(self) -> bool:
        return self.error is None


class _BoundedReader:
    """A file view for genops that refuses absurd argument lengths instead of reading gigabytes."""

    def __init__(self, stream: BinaryIO, end: int) -> None:
        self._stream = stream
        self._end = end

    def read(self, size: int = -1) -> bytes:
        left = self._end - self._stream.tell()
        if size < 0 or size > MAX_ARGUMENT_BYTES:
            raise ValueError(f"an argument of {size} bytes is beyond the analysis limit")
        return self._stream.read(max(0, min(size, left)))

    def readline(self) -> bytes:
        left = self._end - self._stream.tell()
        return self._stream.readline(max(0, min(left, 1 << 16)))

    def tell(self) -> int:
        return self._stream.tell()


def is_dotted_name(text: str) -> bool:
    return bool(_DOTTED.fullmatch(text))


class _Tracker:
    def __init__(self, walk: StreamWalk) -> None:
        self.walk = walk
        self.stack: list[object] = []
        self.memo: dict[int, object] = {}
        self.raw: RawArray | None = None  # set by a BUILD that joblib follows with raw array bytes

    def pop(self) -> object:
        if not self.stack:
            raise ValueError("the stack is empty")
        return self.stack.pop()

    def pop_to_mark(self) -> list[object]:
        items: list[object] = []
        while self.stack:
            item = self.stack.pop()
            if item is _MARK:
                return items[::-1]
            items.append(item)
        raise ValueError("no MARK on the stack")

    def _value(self, name: str, arg: object, popped: list[object]) -> object:
        """What the opcode pushes, as far as joblib's arrays need it; _UNKNOWN for the rest."""
        if name in _INT_OPS and isinstance(arg, int):
            return arg
        if name in _TUPLE_SIZES or name == "TUPLE":
            return tuple(popped)
        if name == "EMPTY_DICT":
            return {}
        if name == "NEWOBJ" and popped and popped[0] == _Global(*JOBLIB_WRAPPER):
            return _JoblibArray()
        if name == "REDUCE" and len(popped) == 2 and isinstance(popped[0], _Global):
            args = popped[1]
            if popped[0].name == "dtype" and isinstance(args, tuple) and args and isinstance(args[0], str):
                return _DType(args[0])
        return _UNKNOWN

    def _build(self, target: object, state: object) -> None:
        if not isinstance(target, _JoblibArray) or not isinstance(state, dict):
            return
        shape, dtype = state.get("shape"), state.get("dtype")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape) or not isinstance(dtype, _DType):
            raise ValueError("a joblib array whose shape or dtype cannot be read")
        import numpy as np  # a core dependency; only the item size of a dtype code is asked of it

        try:
            itemsize = np.dtype(dtype.code).itemsize
        except TypeError as error:
            raise ValueError(f"a joblib array of unknown dtype {dtype.code!r}") from error
        count = 1
        for n in shape:
            count *= n
        aligned = bool(state.get("numpy_array_alignment_bytes"))
        self.raw = RawArray(count * itemsize, aligned, dtype.code.startswith("O"))

    def step(self, op: pickletools.OpcodeInfo, arg: object, pos: int) -> None:
        name = op.name
        if name in IMPORTING:
            module, _, attr = str(arg).partition(" ")
            self.walk.imports.append(ImportedGlobal(module, attr, pos))
        elif name == "STACK_GLOBAL":
            named, owner = self.pop(), self.pop()
            if isinstance(owner, str) and isinstance(named, str):
                self.walk.imports.append(ImportedGlobal(owner, named, pos))
                self.stack.append(_Global(owner, named))
            else:
                self.walk.unresolved.append(pos)
                self.stack.append(_UNKNOWN)
            return
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.walk.unresolved.append(pos)
        if name in ("GET", "BINGET", "LONG_BINGET"):
            key = int(str(arg))
            if key not in self.memo:
                raise KeyError(f"memo key {key} was never stored")  # the unpickler fails here too
            self.stack.append(self.memo[key])
            return
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            self.memo[int(str(arg))] = self.stack[-1] if self.stack else _UNKNOWN
            return
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = self.stack[-1] if self.stack else _UNKNOWN
            return
        if name == "DUP":
            self.stack.append(self.stack[-1] if self.stack else _UNKNOWN)
            return
        popped: list[object] = []
        for item in reversed(op.stack_before):
            if item is pickletools.stackslice:
                continue
            if item is pickletools.markobject:
                popped = self.pop_to_mark() + popped
            else:
                popped.insert(0, self.pop())
        target = popped[0] if popped else None
        if name in ("SETITEM", "SETITEMS") and isinstance(target, dict):
            pairs = popped[1:]
            for state_key, item_value in zip(pairs[::2], pairs[1::2], strict=False):
                if isinstance(state_key, str):
                    target[state_key] = item_value
        if name == "BUILD":
            self._build(popped[0], popped[1])
        for item in op.stack_after:
            if item is pickletools.markobject:
                self.stack.append(_MARK)
            elif name in _STRING_OPS:
                self.stack.append(arg if isinstance(arg, str) else _UNKNOWN)
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                self.stack.append(_Global(module, attr))
            elif name in ("SETITEM", "SETITEMS", "APPEND", "APPENDS", "ADDITEMS", "BUILD"):
                self.stack.append(popped[0])
            else:
                self.stack.append(self._value(name, arg, popped))


def walk_stream(stream: BinaryIO, end: int) -> StreamWalk:
    """Read one pickle from the stream's position up to `end` at most; the stream is left after it."""
    start = stream.tell()
    walk = StreamWalk(start=start, end=start)
    tracker = _Tracker(walk)
    frame_end: int | None = None
    previous: tuple[int, str] | None = None
    reader = _BoundedReader(stream, end)
    try:
        for op, arg, pos in pickletools.genops(reader):  # type: ignore[arg-type]
            assert pos is not None
            walk.opcodes += 1
            if walk.first_value is None and op.name not in ("PROTO", "FRAME"):
                walk.first_value = arg
            # An opcode that began inside a frame must also end inside it.
            if frame_end is not None and walk.frame_problem is None and previous and previous[0] < frame_end < pos:
                walk.frame_problem = previous[0]
            if op.name == "FRAME":
                if frame_end is not None and pos < frame_end and walk.frame_problem is None:
                    walk.frame_problem = pos
                frame_end = pos + 9 + int(str(arg))
            previous = (pos, op.name)
            tracker.step(op, arg, pos)
            if op.name == "STOP":
                break
            if tracker.raw is not None:
                _skip_raw_array(stream, end, tracker.raw, walk)
                tracker.raw = None
                frame_end, previous = None, None  # joblib ends the frame before the raw bytes
        else:
            walk.error = "ends before its STOP opcode"
    except (ValueError, KeyError, IndexError, TypeError, OverflowError, EOFError, MemoryError) as error:
        walk.error = str(error)[:160] or type(error).__name__
    walk.end = stream.tell()
    if walk.error is not None and previous is not None:
        walk.end = max(previous[0], start)
    return walk


def _skip_raw_array(stream: BinaryIO, end: int, raw: RawArray, walk: StreamWalk) -> None:
    """Step over the bytes joblib's unpickler reads after an array wrapper, as it reads them."""
    if raw.pickled:
        nested = walk_stream(stream, end)  # an object array: a pickle of its own, analysed like any
        walk.imports += nested.imports
        walk.unresolved += nested.unresolved
        if nested.error is not None:
            raise ValueError(f"the pickle of a joblib object array stops decoding ({nested.error})")
        stream.seek(nested.end)
        return
    position = stream.tell()
    if raw.aligned:
        padding = stream.read(1)
        position += 1 + (padding[0] if padding else 0)
    if position + raw.nbytes > end:
        raise ValueError("a joblib array runs past the end of the data")
    stream.seek(position + raw.nbytes)


def looks_like_pickle(data: bytes, complete: bool = True) -> bool:
    """Whether bytes of unknown kind are a pickle a loader would act on: they decode to a STOP after a
    value, or they import a well-formed global before they stop decoding. Plain text, JSON, CSV and
    tensor bytes fail at their first bytes. `complete`: False when `data` is only the start of the bytes."""
    if len(data) >= 2 and data[0] == 0x80 and data[1] <= 5:
        return True
    walk = walk_stream(io.BytesIO(data), len(data))
    if walk.stopped and walk.opcodes >= 2:
        return True
    if not complete and walk.opcodes >= 32:
        return True  # a long run of valid opcodes cut off by the sniffing window: a large pickle
    return any(is_dotted_name(item.module) and is_dotted_name(item.name) for item in walk.imports)
