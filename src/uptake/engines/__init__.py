"""Engines: the one seam between what to compute and how."""
