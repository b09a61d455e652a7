"""Audits of models: censorship behaviour (censorship/) and model-file safety (artifacts/)."""
