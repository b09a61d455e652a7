"""GGUF LoRA adapters as llama.cpp reads them, with the lineage uptake records in them.

Layout (llama.cpp's `llama-adapter.cpp`): `general.type = adapter`, `adapter.type = lora`,
`adapter.lora.alpha`, and per edited weight `<tensor>.lora_a` and `<tensor>.lora_b`. In numpy order
`lora_a` is (rank, in) and `lora_b` is (out, rank), so the change to a weight of shape (out, in) is
`alpha / rank * lora_b @ lora_a`. The base file is never touched; llama.cpp adds the product at run time.
The lineage (base sha256, directions, parameters, scores, uptake version) is a JSON string under
`uptake.lineage`, so an adapter file carries its own provenance wherever it is copied.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from uptake.atomic import FILE_MODE
from uptake.errors import UsageError

LINEAGE_KEY = "uptake.lineage"
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LowRankEdit:
    """The change `b @ a` to one base weight (numpy shape (out, in)); a: (rank, in), b: (out, rank)."""

    a: Matrix
    b: Matrix

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])

    def delta(self) -> Matrix:
        return (self.b @ self.a).astype(np.float32)


@dataclass(frozen=True)
class AdapterFile:
    architecture: str
    alpha: float
    edits: dict[str, LowRankEdit]  # base tensor name (e.g. blk.3.ffn_down.weight) -> edit
    lineage: dict[str, Any]


def write_adapter(
    path: Path, *, architecture: str, edits: Mapping[str, LowRankEdit], lineage: Mapping[str, Any]
) -> None:
    """Write the adapter whole or not at all (a temporary file in the same folder, then renamed)."""
    import gguf

    if not edits:
        raise UsageError("an adapter needs at least one edited weight.")
    ranks = {edit.rank for edit in edits.values()}
    if len(ranks) != 1:
        raise ValueError(f"every edit of one adapter must have the same rank, not {sorted(ranks)}")
    rank = ranks.pop()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        writer = gguf.GGUFWriter(temporary, architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        # alpha = rank: llama.cpp scales the product by alpha / rank, so the edits are applied as written.
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
        writer.add_string(LINEAGE_KEY, json.dumps(dict(lineage), sort_keys=True))
        for name in sorted(edits):
            edit = edits[name]
            writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(edit.a, dtype=np.float32))
            writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(edit.b, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def is_adapter(path: Path) -> bool:
    """Whether a GGUF file declares itself an adapter (general.type)."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError):
        return False
    return bool(_field(reader, "general.type") == "adapter")


def _open_adapter(path: Path) -> tuple[Any, dict[str, Any]]:
    """The file's reader (tensors memory-mapped, not read) and its lineage; a usage error unless it is a
    readable LoRA adapter."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError) as error:
        raise UsageError(f"{path} is not a readable GGUF file ({error}).") from error
    if _field(reader, "general.type") != "adapter" or _field(reader, gguf.Keys.Adapter.TYPE) != "lora":
        raise UsageError(f"{path} is not a GGUF LoRA adapter (general.type must be 'adapter', adapter.type 'lora').")
    raw_lineage = _field(reader, LINEAGE_KEY)
    try:
        lineage = json.loads(raw_lineage) if isinstance(raw_lineage, str) else {}
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: its {LINEAGE_KEY} is not valid JSON ({error.msg}).") from error
    return reader, lineage if isinstance(lineage, dict) else {}


def read_adapter(path: Path) -> AdapterFile:
    """Read an adapter back (tensors included); a file that is not a LoRA adapter is a usage error."""
    import gguf

    reader, lineage = _open_adapter(path)
    parts: dict[str, dict[str, Matrix]] = {}
    for tensor in reader.tensors:
        base, _, part = tensor.name.rpartition(".")
        if part not in ("lora_a", "lora_b"):
            raise UsageError(f"{path}: tensor {tensor.name} is not a LoRA part (lora_a or lora_b).")
        # GGUF lists dimensions innermost first; numpy wants them outermost first.
        shape = tuple(int(size) for size in reversed(tensor.shape.tolist()))
        parts.setdefault(base, {})[part] = np.asarray(tensor.data, dtype=np.float32).reshape(shape)
    edits: dict[str, LowRankEdit] = {}
    for base, pair in parts.items():
        if set(pair) != {"lora_a", "lora_b"}:
            raise UsageError(f"{path}: {base} has only {sorted(pair)}; a LoRA weight needs lora_a and lora_b.")
        edits[base] = LowRankEdit(pair["lora_a"], pair["lora_b"])
    alpha = _field(reader, gguf.Keys.Adapter.LORA_ALPHA)
    return AdapterFile(
        architecture=str(_field(reader, "general.architecture") or ""),
        alpha=float(alpha) if alpha is not None else 0.0,
        edits=edits,
        lineage=lineage,
    )


def adapter_lineage(path: Path) -> dict[str, Any]:
    """The lineage alone: the header is read, the tensors are not."""
    return _open_adapter(path)[1]
