"""Audits of model behaviour: censorship (censorship/). Model files are checked by uptake.scan."""
