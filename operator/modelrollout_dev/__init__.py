"""Development environment: the local control plane and Prometheus the tests and `make demo` share.

Not part of the operator: nothing in `modelrollout` imports this package.
"""

from .cluster import ClusterError, LocalCluster, LocalClusterSettings
from .prometheus import PrometheusError, PrometheusServer, PrometheusSettings
from .tools import ToolPaths, cache_dir

__all__ = [
    "ClusterError",
    "LocalCluster",
    "LocalClusterSettings",
    "PrometheusError",
    "PrometheusServer",
    "PrometheusSettings",
    "ToolPaths",
    "cache_dir",
]
