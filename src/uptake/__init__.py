"""uptake: open-weight language models on the hardware you have, measured and trustworthy."""

from uptake.engines.base import (
    ChatMessage,
    Engine,
    Finish,
    GenerationRequest,
    GenerationResult,
    StreamEvent,
    TextDelta,
    TokenLogprob,
    TopLogprob,
    Usage,
)
from uptake.errors import UptakeError

__version__ = "0.1.0"

__all__ = [
    "ChatMessage",
    "Engine",
    "Finish",
    "GenerationRequest",
    "GenerationResult",
    "StreamEvent",
    "TextDelta",
    "TokenLogprob",
    "TopLogprob",
    "UptakeError",
    "Usage",
    "__version__",
]
