"""POST /v1/embeddings: one vector per input text (mean-pooled, unit length)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from uptake.serve.error_responses import ApiError
from uptake.serve.openai_schema import EmbeddingList, EmbeddingOut, EmbeddingRequest, EmbeddingUsage
from uptake.serve.registry import ServedModel
from uptake.serve.state import ERROR_RESPONSES, server_state

router = APIRouter()

MAX_INPUTS = 2048


def embed(served: ServedModel, texts: list[str]) -> tuple[list[list[float]], int]:
    return served.engine.embed(texts), served.engine.count_embedding_tokens(texts)


def encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":  # OpenAI's packing: little-endian float32, base64
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector


@router.post("/v1/embeddings", response_model=EmbeddingList, responses=ERROR_RESPONSES)
async def embeddings(body: EmbeddingRequest, request: Request) -> Any:
    served = server_state(request).model(body.model)
    texts = body.texts()
    if len(texts) > MAX_INPUTS:
        raise ApiError(400, f"at most {MAX_INPUTS} inputs per request.", code="invalid_value", param="input")
    if any(not text for text in texts):
        raise ApiError(400, "an input is an empty string; send text to embed.", code="invalid_value", param="input")
    size = served.engine.info.embedding_size
    if body.dimensions is not None and body.dimensions != size:
        raise ApiError(
            400,
            f"this model's embeddings have {size} dimensions and cannot be shortened.",
            code="unsupported_parameter",
            param="dimensions",
        )
    vectors, tokens = await run_in_threadpool(embed, served, texts)
    return EmbeddingList(
        data=[EmbeddingOut(index=i, embedding=encode(v, body.encoding_format)) for i, v in enumerate(vectors)],
        model=body.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
