"""Control: find the directions in a model's activations that carry political refusal (and harm refusal),
edit the political one out as a GGUF LoRA adapter, and search the edit's strength per layer."""
