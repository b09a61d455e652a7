"""The figures of a model that decide its memory and speed, from a GGUF header or from the catalog.

A header (of a local file, or read remotely) gives the exact tensor list. The catalog gives the
architecture fields only, so the layout of the weights is inferred from parameter counts there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from uptake.errors import UsageError
from uptake.models.catalog import CatalogEntry
from uptake.models.gguf_header import ArrayValue, GGUFHeader
from uptake.models.gguf_meta import FILE_TYPES

ShapeBasis = Literal["file", "remote", "catalog"]


@dataclass(frozen=True)
class ModelShape:
    name: str
    architecture: str
    quantization: str
    parameters: int
    block_count: int
    embedding_length: int
    feed_forward_length: int
    head_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    vocab_size: int
    # BPE merges the tokenizer holds in memory (none for SentencePiece vocabularies).
    merges: int
    # Bytes of all tensors, and of the token embedding alone.
    weight_bytes: int
    token_embedding_bytes: int
    # Whether the file has its own output matrix. Then the token embedding is only a lookup table:
    # one row is read per token, so it is neither read per decode step nor kept resident.
    separate_output: bool
    # Weights multiplied once per token inside the blocks (the output matrix is counted apart).
    block_matmul_parameters: int
    basis: ShapeBasis
    # Resident weight bytes by ggml type (Q4_K, Q8_0, …): CPU kernels differ in speed per byte.
    resident_bytes_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def output_parameters(self) -> int:
        return self.vocab_size * self.embedding_length

    @property
    def resident_weight_bytes(self) -> int:
        """Weights that stay in memory and are read for every token."""
        if self.separate_output:
            return self.weight_bytes - self.token_embedding_bytes
        return self.weight_bytes

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V cache for one token in every layer, at f16 (llama.cpp's default cache type)."""
        return self.block_count * self.head_count_kv * (self.key_length + self.value_length) * 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nominal_type(quantization: str) -> str:
    """The ggml type most weights of a llama.cpp file type have: Q4_K_M → Q4_K, Q8_0 → Q8_0."""
    for suffix in ("_XXS", "_XS", "_S", "_M", "_L"):
        if quantization.endswith(suffix) and quantization[: -len(suffix)].endswith("_K"):
            return quantization[: -len(suffix)]
    return quantization


def block_matmul_parameters(
    *, layers: int, embedding: int, feed_forward: int, heads: int, kv_heads: int, key_length: int, value_length: int
) -> int:
    """Weights of the matrices in the blocks of a dense decoder with gated feed-forward (llama, qwen2, gemma).

    Per block: Q (embedding × heads·key), K (embedding × kv_heads·key), V (embedding × kv_heads·value),
    O (heads·value × embedding) and the three feed-forward matrices gate, up, down (embedding × ff).
    """
    attention = embedding * (heads * key_length + kv_heads * key_length + kv_heads * value_length)
    attention += heads * value_length * embedding
    return layers * (attention + 3 * embedding * feed_forward)


def _require(fields: dict[str, int | None], where: str) -> dict[str, int]:
    missing = [key for key, value in fields.items() if not value]
    if missing:
        raise UsageError(f"{where} lacks {', '.join(missing)}; fit cannot estimate a model without them.")
    return {key: int(value) for key, value in fields.items() if value}


def shape_from_catalog(entry: CatalogEntry) -> ModelShape:
    """A shape from the catalog's recorded header fields (no tensor list: the layout is inferred)."""
    header = entry.header
    fields = _require(
        {
            key: header.get(key)
            for key in (
                "block_count",
                "embedding_length",
                "feed_forward_length",
                "head_count",
                "head_count_kv",
                "vocab_size",
            )
        },
        f"catalog entry {entry.name}",
    )
    head_dim = fields["embedding_length"] // fields["head_count"]
    key_length = header.get("key_length", head_dim)
    value_length = header.get("value_length", head_dim)
    blocks = block_matmul_parameters(
        layers=fields["block_count"],
        embedding=fields["embedding_length"],
        feed_forward=fields["feed_forward_length"],
        heads=fields["head_count"],
        kv_heads=fields["head_count_kv"],
        key_length=key_length,
        value_length=value_length,
    )
    embedding = fields["vocab_size"] * fields["embedding_length"]
    # Which count the published parameter total matches says whether the output matrix is separate.
    separate = abs(entry.parameters - (blocks + 2 * embedding)) < abs(entry.parameters - (blocks + embedding))
    elements = blocks + embedding * (2 if separate else 1)
    weight_bytes = header.get("tensor_bytes") or entry.size_bytes
    token_embedding_bytes = round(weight_bytes * embedding / elements)
    resident = weight_bytes - token_embedding_bytes if separate else weight_bytes
    return ModelShape(
        name=entry.name,
        architecture=entry.architecture,
        quantization=entry.quantization,
        parameters=entry.parameters,
        block_count=fields["block_count"],
        embedding_length=fields["embedding_length"],
        feed_forward_length=fields["feed_forward_length"],
        head_count=fields["head_count"],
        head_count_kv=fields["head_count_kv"],
        key_length=key_length,
        value_length=value_length,
        vocab_size=fields["vocab_size"],
        # The catalog does not record merges; a BPE vocabulary has about as many merges as tokens.
        merges=fields["vocab_size"],
        weight_bytes=weight_bytes,
        token_embedding_bytes=token_embedding_bytes,
        separate_output=separate,
        block_matmul_parameters=blocks,
        basis="catalog",
        # Without a tensor table, all weights count as the nominal type (Q4_K_M → Q4_K).
        resident_bytes_by_type={nominal_type(entry.quantization): resident},
    )


def _array_count(header: GGUFHeader, key: str) -> int:
    value = header.metadata.get(key)
    return value.count if isinstance(value, ArrayValue) else 0


def shape_from_header(header: GGUFHeader, *, name: str, basis: ShapeBasis) -> ModelShape:
    """A shape from a parsed GGUF header: exact tensor sizes and layout."""
    arch = str(header.get("general.architecture") or "unknown")
    file_type = header.get("general.file_type")
    quantization = FILE_TYPES.get(file_type, "unknown") if isinstance(file_type, int) else "unknown"

    def arch_int(suffix: str) -> int | None:
        value = header.get(f"{arch}.{suffix}")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    vocab = _array_count(header, "tokenizer.ggml.tokens") or arch_int("vocab_size")
    fields = _require(
        {
            "block_count": arch_int("block_count"),
            "embedding_length": arch_int("embedding_length"),
            "feed_forward_length": arch_int("feed_forward_length"),
            "head_count": arch_int("attention.head_count"),
            "vocab_size": vocab,
        },
        f"the GGUF header of {name}",
    )
    head_dim = fields["embedding_length"] // fields["head_count"]
    tensors = {tensor.name: tensor for tensor in header.tensors}
    embedding = tensors.get("token_embd.weight")
    blocks = sum(t.n_elements for t in header.tensors if t.name.startswith("blk.") and len(t.shape) >= 2)
    separate = "output.weight" in tensors
    by_type: dict[str, int] = {}
    for tensor in header.tensors:
        if separate and tensor.name == "token_embd.weight":
            continue
        by_type[tensor.type_name] = by_type.get(tensor.type_name, 0) + (tensor.n_bytes or 0)
    return ModelShape(
        name=name,
        architecture=arch,
        quantization=quantization,
        parameters=sum(t.n_elements for t in header.tensors),
        block_count=fields["block_count"],
        embedding_length=fields["embedding_length"],
        feed_forward_length=fields["feed_forward_length"],
        head_count=fields["head_count"],
        head_count_kv=arch_int("attention.head_count_kv") or fields["head_count"],
        key_length=arch_int("attention.key_length") or head_dim,
        value_length=arch_int("attention.value_length") or head_dim,
        vocab_size=fields["vocab_size"],
        merges=_array_count(header, "tokenizer.ggml.merges"),
        weight_bytes=sum(t.n_bytes or 0 for t in header.tensors),
        token_embedding_bytes=(embedding.n_bytes or 0) if embedding else 0,
        separate_output=separate,
        block_matmul_parameters=blocks,
        basis=basis,
        resident_bytes_by_type=by_type,
    )
