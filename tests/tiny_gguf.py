"""Build tiny random-weight GGUF models with the `gguf` writer, so tests load a real GGUF through the
real llama.cpp engine in well under a second, with no download."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("Ġ", "a")]


def byte_level_alphabet() -> list[str]:
    """The 256 printable stand-ins that byte-level BPE uses for raw bytes (one per byte value)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping: dict[int, str] = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return [mapping[byte] for byte in range(256)]


def write_tiny_gguf(
    path: Path,
    *,
    layers: int = 2,
    embedding: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    feed_forward: int = 128,
    context_length: int = 2048,
    chat_template: str | None = CHATML_TEMPLATE,
    seed: int = 0,
    name: str = "tiny-test",
    edit: Callable[[dict[str, np.ndarray], list[str]], None] | None = None,
) -> Path:
    """`edit(tensors, tokens)` may change the weights (numpy, GGUF names and shapes) before they are written."""
    tokens = byte_level_alphabet() + ["".join(pair) for pair in MERGES] + SPECIAL_TOKENS
    token_types = [TokenType.NORMAL] * (len(tokens) - len(SPECIAL_TOKENS)) + [TokenType.CONTROL] * len(SPECIAL_TOKENS)
    vocab = len(tokens)
    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(context_length)
    writer.add_embedding_length(embedding)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(embedding // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges([f"{a} {b}" for a, b in MERGES])
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    tensors: dict[str, np.ndarray] = {"token_embd.weight": weight(vocab, embedding)}
    for block in range(layers):
        prefix = f"blk.{block}"
        head_dim = embedding // heads
        tensors[f"{prefix}.attn_norm.weight"] = np.ones(embedding, dtype=np.float32)
        tensors[f"{prefix}.attn_q.weight"] = weight(embedding, embedding)
        tensors[f"{prefix}.attn_k.weight"] = weight(kv_heads * head_dim, embedding)
        tensors[f"{prefix}.attn_v.weight"] = weight(kv_heads * head_dim, embedding)
        tensors[f"{prefix}.attn_output.weight"] = weight(embedding, embedding)
        tensors[f"{prefix}.ffn_norm.weight"] = np.ones(embedding, dtype=np.float32)
        tensors[f"{prefix}.ffn_gate.weight"] = weight(feed_forward, embedding)
        tensors[f"{prefix}.ffn_up.weight"] = weight(feed_forward, embedding)
        tensors[f"{prefix}.ffn_down.weight"] = weight(embedding, feed_forward)
    tensors["output_norm.weight"] = np.ones(embedding, dtype=np.float32)
    tensors["output.weight"] = weight(vocab, embedding)
    if edit is not None:
        edit(tensors, tokens)
    for tensor_name, values in tensors.items():
        writer.add_tensor(tensor_name, values.astype(np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
