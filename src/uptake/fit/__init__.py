"""Which model fits which device, and how fast it answers: predicted from headers, then measured.

- `profiles`: device profiles shipped as data (`devices/*.toml`), each figure with its source.
- `probe`: `this` machine, measured and cached.
- `shape`, `remote`: a model's figures from its GGUF header (local or over HTTP ranges) or the catalog.
- `estimate`: memory and speed predictions; `calibration`: corrections learned from bench results.
- `bench`, `bench_worker`: measurements on this machine; `recommend`: the `uptake fit` table.
"""

from uptake.fit.estimate import Calibration, Estimate, Workload, estimate
from uptake.fit.profiles import DeviceProfile, load_profile
from uptake.fit.shape import ModelShape, shape_from_catalog, shape_from_header

__all__ = [
    "Calibration",
    "DeviceProfile",
    "Estimate",
    "ModelShape",
    "Workload",
    "estimate",
    "load_profile",
    "shape_from_catalog",
    "shape_from_header",
]
