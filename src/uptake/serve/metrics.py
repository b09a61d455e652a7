"""Prometheus metrics: requests, tokens, queue depth, active sequences, time to first token, speed.

Each app gets its own registry, so several servers (or tests) in one process never share counters.
Queue depth and active sequences are read from the engines at scrape time, so they can never drift
from the truth.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from uptake.engines.base import Finish
from uptake.serve.registry import ModelRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SPEED_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)


class _EngineCollector(Collector):
    def __init__(self, models: ModelRegistry) -> None:
        self._models = models

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily("uptake_queue_depth", "Requests waiting for a free sequence.", labels=["model"])
        active = GaugeMetricFamily("uptake_active_sequences", "Sequences being decoded now.", labels=["model"])
        slots = GaugeMetricFamily(
            "uptake_parallel_sequences", "Sequences a model can decode at once.", labels=["model"]
        )
        cancelled = CounterMetricFamily(
            "uptake_cancelled_sequences", "Sequences dropped because their client went away.", labels=["model"]
        )
        reused = CounterMetricFamily(
            "uptake_prompt_tokens_reused",
            "Prompt tokens taken from a cached prefix instead of computed.",
            labels=["model"],
        )
        for model in self._models.models():
            stats = model.engine.stats()
            waiting.add_metric([model.name], stats.waiting)
            active.add_metric([model.name], stats.active)
            slots.add_metric([model.name], stats.parallel)
            cancelled.add_metric([model.name], stats.cancelled)
            reused.add_metric([model.name], stats.reused_prompt_tokens)
        yield from (waiting, active, slots, cancelled, reused)


class ServerMetrics:
    def __init__(self, models: ModelRegistry) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "uptake_requests",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "uptake_prompt_tokens", "Prompt tokens processed.", ["model"], registry=self.registry
        )
        self.completion_tokens = Counter(
            "uptake_completion_tokens", "Tokens generated.", ["model"], registry=self.registry
        )
        self.time_to_first_token = Histogram(
            "uptake_time_to_first_token_seconds",
            "From arrival to the first generated token, queueing included.",
            ["model"],
            buckets=TTFT_BUCKETS,
            registry=self.registry,
        )
        self.tokens_per_second = Histogram(
            "uptake_tokens_per_second",
            "Decode speed of each finished request (tokens after the first).",
            ["model"],
            buckets=SPEED_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_EngineCollector(models))

    def count_request(self, route: str, status: int) -> None:
        self.requests.labels(route=route, status=str(status)).inc()

    def record_finish(self, model: str, finish: Finish) -> None:
        self.prompt_tokens.labels(model=model).inc(finish.usage.prompt_tokens)
        self.completion_tokens.labels(model=model).inc(finish.usage.completion_tokens)
        if finish.usage.completion_tokens > 0:
            self.time_to_first_token.labels(model=model).observe(finish.timings.prompt_s)
        if finish.usage.completion_tokens > 1 and finish.timings.decode_s > 0:
            rate = (finish.usage.completion_tokens - 1) / finish.timings.decode_s
            self.tokens_per_second.labels(model=model).observe(rate)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
