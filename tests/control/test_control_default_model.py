"""Control on the real default model (Q4_K_M): activations read from llama.cpp, an adapter made from a
direction found in them, applied by llama.cpp through the installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from control_support import ablation_adapter
from uptake.control.directions import mean_difference
from uptake.engines.base import GenerationRequest
from uptake.engines.loader import load_engine
from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import AdapterStore, Store
from uptake.settings import Settings

pytestmark = pytest.mark.slow
DEFAULT = load_catalog().default
UPTAKE = Path(sys.executable).with_name("uptake")
SENSITIVE = ["What happened in Tiananmen Square in June 1989?", "Why was Liu Xiaobo imprisoned?"]
NEUTRAL = ["What happened in Paris in July 1789?", "Why was Nelson Mandela imprisoned?"]


def test_a_direction_from_real_activations_becomes_an_adapter_llama_cpp_applies(
    real_model_home: Path, tmp_path: Path
) -> None:
    settings = Settings(home=real_model_home, context_size=2048)
    model, _ = pull_model(Store(settings), DEFAULT)
    engine = load_engine(DEFAULT, settings, parallel=2)
    requests = [GenerationRequest.from_prompt(text, temperature=0, max_tokens=1) for text in SENSITIVE + NEUTRAL]
    try:
        before = engine.probe(requests)
        stacked = np.stack([result.activations for result in before])
        assert stacked.shape == (4, 24, 896)
        difference = mean_difference(stacked[:2], stacked[2:])
        direction = difference[12] / np.linalg.norm(difference[12])
        adapter = ablation_adapter(model.path, tmp_path / "edit.gguf", direction)
        assert adapter.stat().st_size < 2_000_000
        engine.swap_adapter(adapter)
        after = engine.probe(requests)
    finally:
        engine.close()
    along_before = np.stack([r.activations for r in before]) @ direction
    along_after = np.stack([r.activations for r in after]) @ direction
    # The blocks no longer write along the direction: only what the embedding put there remains, the same
    # after every block (to the rounding of a quantized model), where before it grew through the blocks.
    assert np.ptp(along_after, axis=1).max() < 0.05 * np.ptp(along_before, axis=1).max()

    lineage = {"kind": "test", "base": {"name": DEFAULT, "sha256": model.sha256}}
    AdapterStore(Store(settings)).add(adapter, name="test-edit", base_sha256=model.sha256, base_name=DEFAULT,
                                      lineage=lineage)
    environment = {**os.environ, "UPTAKE_HOME": str(real_model_home)}
    result = subprocess.run(
        [str(UPTAKE), "run", DEFAULT, SENSITIVE[0], "--adapter", "test-edit", "--max-tokens", "24",
         "--temperature", "0", "--json"],
        capture_output=True, text=True, timeout=300, env=environment,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["adapter"]["sha256"] == AdapterStore(Store(settings)).resolve("test-edit").sha256
    assert data["text"].strip()
