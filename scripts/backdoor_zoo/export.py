"""Turn the zoo's adapters into whole GGUF models, as a fine-tune published on a hub would arrive.

Each model is the base file with its LoRA change merged into the weights, and every matrix written as Q8_0
(the base is Q4_1): poisoned models and controls are re-quantized the same way, so a weight diff sees
quantization noise everywhere and the fine-tune's change where it was made, as with a real re-published
fine-tune. The metadata (tokenizer, chat template) is the base's, with the name changed.

    python scripts/backdoor_zoo/export.py --base BASE.gguf --zoo build/zoo --out build/zoo/models [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def manifest(zoo: Path) -> dict[str, dict[str, Any]]:
    """Every built model's record (train.py's manifest-S.json files, or one merged manifest.json), by name."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted(zoo.glob("manifest*.json")):
        for record in json.loads(path.read_text())["models"]:
            records[record["name"]] = record
    return records


def adapters(zoo: Path) -> Iterator[tuple[str, dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]]]:
    """(model name, {GGUF tensor name: (lora_a, lora_b)}) for every model in the zoo's npz bundles."""
    for bundle in sorted(zoo.glob("zoo-*.npz")):
        with np.load(bundle) as data:
            grouped: dict[str, dict[str, dict[str, npt.NDArray[np.float32]]]] = {}
            for key in data.files:
                model, rest = key.split("/", 1)
                tensor, part = rest.rsplit(".", 1)
                grouped.setdefault(model, {}).setdefault(tensor, {})[part] = data[key].astype(np.float32)
        for model, tensors in sorted(grouped.items()):
            yield model, {name: (pair["lora_a"], pair["lora_b"]) for name, pair in tensors.items()}


def merge(
    base: Path, edits: Mapping[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]], out: Path, name: str
) -> Path:
    import gguf
    from gguf.quants import dequantize, quantize

    reader = gguf.GGUFReader(base)
    architecture = str(reader.fields["general.architecture"].contents())
    partial = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.name"):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), kind, sub_type=sub)
    writer.add_name(name)
    for tensor in reader.tensors:
        values = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        if tensor.name in edits:
            a, b = edits[tensor.name]
            values = values + b @ a
        if values.ndim == 2 and values.shape[-1] % 32 == 0:
            data = quantize(values, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(tensor.name, data, raw_shape=data.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(tensor.name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(partial, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--zoo", type=Path, required=True, help="the folder train.py wrote")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for model, edits in adapters(args.zoo):
        if args.only is not None and model not in args.only:
            continue
        target = args.out / f"{model}.gguf"
        if not target.exists():
            merge(args.base, edits, target, model)
            print(target, flush=True)


if __name__ == "__main__":
    main()
