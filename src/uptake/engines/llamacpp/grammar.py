"""The one translation of a JSON schema into a llama.cpp grammar, for every path that constrains output:
`uptake run --json-schema` (one sequence on llama-cpp-python's generator) and the scheduler (serve, the
audit's batches) get the same grammar text for the same schema."""

from __future__ import annotations

import functools
import json
from typing import Any

from uptake.errors import UsageError

# llama-cpp-python's converter lets raw control characters into JSON strings, which JSON forbids
# (RFC 8259) and strict parsers reject; llama.cpp's own converter excludes them, as this rule does.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def grammar_for_schema(schema: dict[str, Any]) -> str:
    """GBNF text that only admits JSON valid against `schema`. Raises UsageError for a schema the
    converter does not support."""
    return _grammar_for_schema_text(json.dumps(schema))


# A request is checked when it is prepared and converted again when each of its choices is queued; a
# large schema takes real time to convert, so the recent ones are kept (keyed by their exact JSON text,
# since the order of properties is the order the grammar writes them in).
@functools.lru_cache(maxsize=64)
def _grammar_for_schema_text(schema_text: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        grammar = str(json_schema_to_gbnf(schema_text))
    except Exception as error:  # the converter raises plain exceptions for unsupported schemas
        raise UsageError(f"JSON schema cannot be turned into a grammar: {error}") from error
    return grammar.replace(_LOOSE_CHAR, _STRICT_CHAR)
