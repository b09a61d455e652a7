"""Censorship audit: bilingual matched-control probes, a validated classifier and statistics.

probes (data) -> engine responses -> labels (classify) -> statistics (stats) -> report.
"""

from uptake.audit.censorship.classify import (
    Classification,
    ClassifyRequest,
    CombinedClassifier,
    JudgeClassifier,
    RuleClassifier,
)
from uptake.audit.censorship.labels import LABELS, NON_ANSWERS, Label
from uptake.audit.censorship.probes import LANGS, Lang, Probe, ProbeSet, Topic, load_probe_set

__all__ = [
    "LABELS",
    "LANGS",
    "NON_ANSWERS",
    "Classification",
    "ClassifyRequest",
    "CombinedClassifier",
    "JudgeClassifier",
    "Label",
    "Lang",
    "Probe",
    "ProbeSet",
    "RuleClassifier",
    "Topic",
    "load_probe_set",
]
