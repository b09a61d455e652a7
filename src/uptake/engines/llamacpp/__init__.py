"""llama.cpp behind the Engine seam. Only `LlamaCppEngine` is for use above it; the modules beside it
(scheduler, context, sampling, ...) are its parts, open to tests and to `fit`, which measures llama.cpp."""

from uptake.engines.llamacpp.engine import LlamaCppEngine

__all__ = ["LlamaCppEngine"]
