"""Where batch work runs: in this process on an Engine, or on any OpenAI-compatible server over HTTP.

The row logic (prompt, parse, score) is the same on every executor; an executor only turns a
GenerationRequest into a Completion, as many at once as it allows.
"""
