"""ModelRollout: a Kubernetes operator that rolls out ML model versions safely."""

__version__ = "0.1.0"
