"""Static analysis of chat templates (parsed, never rendered): code, literal text, branches, reference diff."""
