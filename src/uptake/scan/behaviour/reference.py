"""Which model a suspect is screened against, and how the two relate.

A reference must share the suspect's vocabulary (token list): the screen compares their distributions token
by token. It is the *base* when it also has the same architecture and every tensor's name and shape (then
the weights are compared too). Named with --reference, or else chosen from the store: a model of the same
tensor layout first, then any of the same vocabulary; the suspect's own file never.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from uptake.errors import UsageError
from uptake.models.gguf_header import GGUFFormatError, read_gguf_header
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.models.store import Store
from uptake.scan.behaviour.screen import Relation, ScreenedModel

TOKENS = "tokenizer.ggml.tokens"


class NoReferenceError(UsageError):
    """No model to compare the suspect with."""


def layout(path: Path) -> tuple[str, str, tuple[tuple[str, tuple[int, ...]], ...]]:
    """(architecture, vocabulary digest, tensor names and shapes), read with uptake's own header parser (gguf's
    reader takes seconds over a 150k-token vocabulary)."""
    try:
        header = read_gguf_header(path, keep_keys=frozenset({TOKENS}))
    except (GGUFFormatError, OSError) as error:
        raise UsageError(f"{path.name} is not a readable GGUF model ({error}).") from None
    tokens = header.get(TOKENS)
    if not tokens:
        raise UsageError(f"{path.name} carries no token list; the behavioural screen reads GGUF language models.")
    digest = hashlib.sha256("\x00".join(str(t) for t in tokens).encode("utf-8")).hexdigest()
    tensors = tuple(sorted((t.name, tuple(t.shape)) for t in header.tensors))
    return (str(header.get("general.architecture") or ""), digest, tensors)


def relation(suspect: Path, reference: Path) -> Relation | None:
    mine, theirs = layout(suspect), layout(reference)
    if mine[1] != theirs[1]:
        return None
    return "base" if mine[0] == theirs[0] and mine[2] == theirs[2] else "same-vocabulary"


def screened(model: ResolvedModel) -> ScreenedModel:
    return ScreenedModel(
        name=model.name,
        path=model.path,
        chat_template=model.chat_template,
        bos_token=str(model.metadata.get("bos_token") or ""),
        eos_token=str(model.metadata.get("eos_token") or ""),
        sha256=model.sha256,
    )


def choose(suspect: ResolvedModel, store: Store) -> tuple[ScreenedModel, Relation]:
    """The store's best reference for `suspect`, or a NoReferenceError that says how to get one."""
    own = suspect.path.resolve()
    same_vocabulary: list[tuple[ScreenedModel, Relation]] = []
    for stored in store.list():
        if stored.path.resolve() == own or not stored.path.exists():
            continue
        try:
            found = relation(suspect.path, stored.path)
        except (UsageError, ValueError, OSError):
            continue
        if found is not None:
            same_vocabulary.append((screened(resolve_model(stored.name, store.settings, pull=False)), found))
    same_vocabulary.sort(key=lambda item: (item[1] != "base", item[0].name))
    if not same_vocabulary:
        raise NoReferenceError(
            f"no model in the store shares {suspect.name}'s vocabulary, so there is nothing to compare it with; "
            "pull or import its claimed base (or a model of the same family) and name it with --reference."
        )
    return same_vocabulary[0]
