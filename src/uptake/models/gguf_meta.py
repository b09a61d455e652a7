"""Read what a GGUF file says about itself, from its header only (the weights are memory-mapped, never read)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from uptake.errors import UsageError
from uptake.models.gguf_header import ArrayValue, GGUFFormatError, GGUFHeader, read_gguf_header
from uptake.models.template_hash import chat_template_sha256

GGUF_MAGIC = b"GGUF"

# llama.cpp's file-type codes (general.file_type) for the quantizations people actually use.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
    18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
    25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
    32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}


@dataclass
class GGUFMetadata:
    architecture: str
    name: str | None
    parameters: int
    quantization: str
    context_length: int | None
    block_count: int | None
    embedding_length: int | None
    feed_forward_length: int | None
    head_count: int | None
    head_count_kv: int | None
    key_length: int | None
    value_length: int | None
    vocab_size: int
    tokenizer_model: str | None
    chat_template: str | None
    chat_template_sha256: str | None
    bos_token: str | None
    eos_token: str | None
    tensor_count: int
    tensor_bytes: int
    file_size: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_gguf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _token(tokens: list[str] | None, index: Any) -> str | None:
    if tokens is None or not isinstance(index, int) or not 0 <= index < len(tokens):
        return None
    return tokens[index]


def metadata_from_header(header: GGUFHeader) -> GGUFMetadata:
    arch = str(header.get("general.architecture") or "unknown")

    def arch_int(suffix: str) -> int | None:
        value = header.get(f"{arch}.{suffix}")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    tokens_value = header.metadata.get("tokenizer.ggml.tokens")
    tokens = tokens_value.values if isinstance(tokens_value, ArrayValue) else None
    vocab_size = tokens_value.count if isinstance(tokens_value, ArrayValue) else 0
    template = header.get("tokenizer.chat_template")
    template = template if isinstance(template, str) and template.strip() else None
    file_type = header.get("general.file_type")
    quantization = FILE_TYPES.get(file_type, f"type{file_type}") if isinstance(file_type, int) else "unknown"
    name = header.get("general.name")
    return GGUFMetadata(
        architecture=arch,
        name=name if isinstance(name, str) else None,
        parameters=sum(t.n_elements for t in header.tensors),
        quantization=quantization,
        context_length=arch_int("context_length"),
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        feed_forward_length=arch_int("feed_forward_length"),
        head_count=arch_int("attention.head_count"),
        head_count_kv=arch_int("attention.head_count_kv"),
        key_length=arch_int("attention.key_length"),
        value_length=arch_int("attention.value_length"),
        vocab_size=vocab_size,
        tokenizer_model=header.get("tokenizer.ggml.model"),
        chat_template=template,
        chat_template_sha256=chat_template_sha256(template) if template else None,
        bos_token=_token(tokens, header.get("tokenizer.ggml.bos_token_id")),
        eos_token=_token(tokens, header.get("tokenizer.ggml.eos_token_id")),
        tensor_count=len(header.tensors),
        tensor_bytes=sum(t.n_bytes or 0 for t in header.tensors),
        file_size=header.file_size,
    )


def read_gguf_metadata(path: Path) -> GGUFMetadata:
    """Header facts of a GGUF file. Raises UsageError for a file that is not a readable GGUF."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist; give the path of a .gguf model file.")
    if not is_gguf(path):
        raise UsageError(f"{path} is not a GGUF file (no 'GGUF' magic); uptake runs GGUF models.")
    try:
        header = read_gguf_header(path, keep_keys=frozenset({"tokenizer.ggml.tokens"}))
    except GGUFFormatError as error:
        raise UsageError(f"{path}: {error}; the file is damaged, download it again.") from error
    return metadata_from_header(header)
