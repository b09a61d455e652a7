"""Follow a pickle's opcodes without running them: which globals it imports, and where reading stops.

The opcodes are decoded by the standard library's `pickletools.genops`; nothing is imported or called.
On top of it a small stack tracker keeps just what is needed to name every import: the strings on the
stack and in the memo, so that `STACK_GLOBAL` (protocol 4+) is resolved the way the unpickler would.
A full symbolic interpreter (fickling's) stops on valid pickles it does not model (`BYTEARRAY8`,
deques filled by `APPENDS`), which made ordinary files unreadable; the imports are all a verdict needs.

Every import is recorded as soon as its opcode is read, so a dangerous call followed by bytes that do not
decode is still reported: the loader has run it before it fails.
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

    def pop(self) -> object:
        if not self.stack:
            raise ValueError("the stack is empty")
        return self.stack.pop()

    def pop_to_mark(self) -> None:
        while self.stack:
            if self.stack.pop() is _MARK:
                return
        raise ValueError("no MARK on the stack")

    def step(self, op: pickletools.OpcodeInfo, arg: object, pos: int) -> None:
        name = op.name
        if name in IMPORTING:
            module, _, attr = str(arg).partition(" ")
            self.walk.imports.append(ImportedGlobal(module, attr, pos))
        elif name == "STACK_GLOBAL":
            named, owner = self.pop(), self.pop()
            if isinstance(owner, str) and isinstance(named, str):
                self.walk.imports.append(ImportedGlobal(owner, named, pos))
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
        for item in reversed(op.stack_before):
            if item is pickletools.stackslice:
                continue
            if item is pickletools.markobject:
                self.pop_to_mark()
            else:
                self.pop()
        for item in op.stack_after:
            if item is pickletools.markobject:
                self.stack.append(_MARK)
            elif name in _STRING_OPS:
                self.stack.append(arg if isinstance(arg, str) else _UNKNOWN)
            else:
                self.stack.append(_UNKNOWN)


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
        else:
            walk.error = "ends before its STOP opcode"
    except (ValueError, KeyError, IndexError, TypeError, OverflowError, EOFError, MemoryError) as error:
        walk.error = str(error)[:160] or type(error).__name__
    walk.end = stream.tell()
    if walk.error is not None and previous is not None:
        walk.end = max(previous[0], start)
    return walk


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
