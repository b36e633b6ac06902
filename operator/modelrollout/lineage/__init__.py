"""Version lineage of a model and the dependsOn graph across models, both on networkx.

Pure: no I/O, no Kubernetes. The controller loads status and ModelRollouts, asks these objects,
and writes the answers back.
"""

from .dependencies import (
    FAILED_PHASES,
    MID_ROLLOUT_PHASES,
    DependencyGraph,
    RolloutNode,
    UnknownModelError,
    UpstreamState,
)
from .outcomes import GOOD_OUTCOMES, Outcome
from .versions import UnknownVersionError, VersionLineage

__all__ = [
    "FAILED_PHASES",
    "GOOD_OUTCOMES",
    "MID_ROLLOUT_PHASES",
    "DependencyGraph",
    "Outcome",
    "RolloutNode",
    "UnknownModelError",
    "UnknownVersionError",
    "UpstreamState",
    "VersionLineage",
]
