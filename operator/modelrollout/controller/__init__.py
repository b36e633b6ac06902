"""The operator process: kopf handlers that load state, call `rollout.decide`, and apply it.

The only package that imports kopf (in `handlers` and `startup`)."""

from .main import main
from .settings import AnalysisSettings, FinalizerSettings, OperatorSettings, ReconcileSettings

__all__ = ["AnalysisSettings", "FinalizerSettings", "OperatorSettings", "ReconcileSettings", "main"]
