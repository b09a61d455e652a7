"""An OpenAI-compatible server as a batch engine (the audit's `--backend http`), and who that server says it is.

A batch is sent as concurrent requests through `HttpExecutor` (bounded concurrency, retries), so the rows are
rendered and parsed by the same code as a task's. The model's identity comes from the server: `uptake serve`
gives each model's sha256 in its /v1/models card (an extension OpenAI clients ignore), so a run records the
exact file; another server gives a name only, and the run says its model is unverified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from uptake.engines.base import EngineInfo, FinishReason, GenerationRequest, GenerationResult, Timings, Usage
from uptake.errors import UptakeError, UsageError
from uptake.executors.base import Completion
from uptake.executors.http import HttpExecutor, api_base
from uptake.provenance import ModelIdentity

IDENTITY_TIMEOUT_S = 30.0
HTTP_PREFIX = "http:"  # how a run records this engine: http:<base URL>
# A server's other reasons ("tool_calls", "content_filter") end a text that is whole as far as an audit goes.
FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length", "error": "error"}


class HttpBatchEngine:
    """`generate_batch` over HTTP: every request of a batch in flight at once, up to the executor's concurrency."""

    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, concurrency: int = 4) -> None:
        self.base_url = api_base(endpoint)  # a URL that is not http(s) is refused here
        self.endpoint = endpoint
        self.model = model
        self.api_key = api_key
        self.concurrency = concurrency

    @property
    def info(self) -> EngineInfo:
        """What a client can know of a server's engine: where it is and how many requests it is sent at once;
        the sizes it was loaded with are the server's own (0 here, recorded as unknown)."""
        return EngineInfo(
            engine=f"{HTTP_PREFIX}{self.base_url}", model_path=None, context_size=0, context_per_sequence=0,
            parallel=self.concurrency, max_waiting=0, threads=None, batch_size=None, flash_attention=None,
            chat_template_sha256=None, vocabulary_size=0, embedding_size=0,
        )

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return asyncio.run(self._batch(list(requests)))

    async def _batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        executor = HttpExecutor(self.endpoint, self.model, api_key=self.api_key, concurrency=self.concurrency)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(request: GenerationRequest) -> GenerationResult:
            async with gate:
                return as_result(await executor.complete(request))

        try:
            return list(await asyncio.gather(*(one(request) for request in requests)))
        finally:
            await executor.aclose()

    def identify(self) -> ModelIdentity:
        """The served model as the server describes it; a server that does not serve it is a usage error.
        An engine made without a model name takes the server's only model."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            with httpx.Client(base_url=self.base_url, headers=headers, timeout=IDENTITY_TIMEOUT_S) as client:
                listing = client.get("/models")
                if listing.status_code == 200 and not self.model:
                    self.model = _only_model(self.base_url, _json_object(listing).get("data"))
                card = client.get(f"/models/{self.model}") if listing.status_code == 200 else listing
        except httpx.HTTPError as error:
            raise UptakeError(f"cannot reach {self.base_url} ({type(error).__name__}: {error}); start the server "
                              "or fix --endpoint.") from None
        if listing.status_code in (401, 403):
            raise UsageError(f"{self.base_url} refused the API key (HTTP {listing.status_code}); give --api-key.")
        if listing.status_code != 200:
            raise UptakeError(f"{self.base_url}/models answered HTTP {listing.status_code}; is it an "
                              "OpenAI-compatible server?")
        served = _model_ids(listing)
        if (self.model not in served) if served else card.status_code != 200:  # a list, when given, is the truth
            raise UsageError(f"{self.base_url} does not serve a model called '{self.model}'; it serves: "
                             f"{', '.join(served) or 'none'}. Give one of them as MODEL.")
        details: dict[str, Any] = _json_object(card) if card.status_code == 200 else {}
        sha256 = _hex_or_none(details.get("sha256"))
        return ModelIdentity(
            name=self.model, sha256=sha256, path=self.base_url,
            quantization=None, architecture=None, parameters=None, chat_template_sha256=None,
            trust="server-reported" if sha256 else "unverified",
            adapter=None, adapter_sha256=_hex_or_none(details.get("adapter_sha256")),
        )

    def close(self) -> None:
        """Each batch opens and closes its own connections; nothing is held between batches."""


def as_result(completion: Completion) -> GenerationResult:
    """A completion as the engines report a generation (the server's whole time counts as decoding)."""
    return GenerationResult(
        text=completion.text, finish_reason=FINISH_REASONS.get(completion.finish_reason, "stop"),
        usage=Usage(completion.prompt_tokens, completion.completion_tokens),
        timings=Timings(0.0, completion.seconds), error=completion.error,
    )


def _json_object(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _model_ids(listing: httpx.Response) -> list[str]:
    data = _json_object(listing).get("data")
    return [str(card.get("id")) for card in data if isinstance(card, dict)] if isinstance(data, list) else []


def _only_model(base_url: str, data: Any) -> str:
    """The one model served (its names and aliases share one hash on `uptake serve`)."""
    cards = [card for card in data if isinstance(card, dict)] if isinstance(data, list) else []
    files = {card.get("sha256") or card.get("id") for card in cards}
    if len(files) != 1:
        names = ", ".join(str(card.get("id")) for card in cards) or "none"
        raise UsageError(f"{base_url} serves {len(files)} models ({names}); name the one to audit as MODEL.")
    return str(cards[0].get("id"))


def _hex_or_none(value: Any) -> str | None:
    text = str(value).lower() if isinstance(value, str) else ""
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None
