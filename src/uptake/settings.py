"""All settings in one place: CLI flags override environment (UPTAKE_*), which override defaults."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "qwen2.5-coder:0.5b"


def physical_cores() -> int:
    """Physical cores, which is what llama.cpp's threads should match (hyperthreads do not help decode)."""
    try:
        seen: set[tuple[str, str]] = set()
        physical_id = core_id = ""
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical_id = value.strip()
                elif key == "core id":
                    core_id = value.strip()
                elif not line.strip() and core_id:
                    seen.add((physical_id, core_id))
                    physical_id = core_id = ""
        if core_id:
            seen.add((physical_id, core_id))
        if seen:
            return len(seen)
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPTAKE_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("uptake")))
    default_model: str = DEFAULT_MODEL
    context_size: int = Field(default=4096, ge=64)
    threads: int = Field(default_factory=physical_cores, ge=1)
    batch_size: int = Field(default=512, ge=1)
    parallel: int = Field(default=4, ge=1)  # sequences decoded together by generate_batch
    gpu_layers: int = 0
    pypi_index_url: str = "https://pypi.org/simple"
    hf_endpoint: str = "https://huggingface.co"
    modelscope_endpoint: str = "https://modelscope.cn"
    download_timeout_s: float = 60.0


def get_settings() -> Settings:
    """Read settings afresh, so a changed environment (tests, a long-lived server) is honoured."""
    return Settings()
