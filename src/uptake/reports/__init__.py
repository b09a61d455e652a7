"""Shared pieces of uptake's self-contained HTML pages (audit reports, task-run reports)."""
