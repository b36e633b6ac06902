"""`modelrollout.io/v1alpha1`: the ModelRollout resource."""

from ._model import ApiModel
from .abtest import ABTestStatus, ABTestStrategy
from .analysis_spec import (
    AnalysisSpec,
    ErrorSeriesSpec,
    GoalSpec,
    MetricSpec,
    PrometheusAuth,
    PrometheusSpec,
    ScoreThresholdsSpec,
    SecretKeyRef,
    ThresholdRange,
)
from .bandit import BanditArm, BanditPrior, BanditStatus, BanditStrategy
from .bluegreen import BlueGreenStage, BlueGreenStatus, BlueGreenStrategy, PromotionAnalysis
from .crd_rules import FIXED_TESTS
from .durations import DURATION_PATTERN, format_duration, parse_duration
from .enums import (
    AnalysisMethod,
    ConditionType,
    DriftStatistic,
    EvidenceSpan,
    FailurePolicy,
    FixedTest,
    GoalKind,
    InconclusivePolicy,
    MetricType,
    Outcome,
    Phase,
    Reason,
    StrategyType,
    TrafficProvider,
    UpstreamFailurePolicy,
    Verdict,
)
from .generated import is_stale
from .int_or_percent import resolve_int_or_percent
from .interleaved import (
    INTERLEAVING_METRIC,
    InterleavedStatus,
    InterleavedStrategy,
    InterleavingRoute,
    interleaving_route,
)
from .interval_grid import align, align_up, first_interval_end
from .limits import (
    MESSAGE_MAX_LENGTH,
    PENDING_EVENT_MESSAGE_MAX_LENGTH,
    PENDING_EVENTS_MAX,
    STATUS_MAX_BYTES,
    cut,
    stored_size,
)
from .notifications import NotificationEvent, NotificationFormat, NotificationSpec
from .routes import (
    CanaryScale,
    CookieMatch,
    HeaderRoute,
    MirrorRoute,
    RouteMatch,
    RoutesStatus,
    SetCanaryScale,
    SetHeaderRoute,
    SetMirrorRoute,
    ValueMatch,
)
from .shadow import (
    AGREEMENT_METRIC,
    MIRROR_NAME,
    SCORE_DIFFERENCE_METRIC,
    ShadowStatus,
    ShadowStrategy,
)
from .spec import (
    CanaryStep,
    CanaryStrategy,
    Dependency,
    GatewayAPITraffic,
    IstioTraffic,
    ModelRolloutSpec,
    PauseStep,
    StrategySpec,
    TrafficSpec,
    VersionSpec,
)
from .status import (
    HISTORY_LIMIT,
    LINEAGE_LIMIT,
    ActionRecord,
    AnalysisStatus,
    Condition,
    HistoryEntry,
    LineageEntry,
    MetricResult,
    ModelRolloutStatus,
)
from .status_bounds import bounded_status
from .step_analysis import StepAnalysis
from .stickiness import StickinessSpec
from .strategy_steps import strategy_steps
from .timestamps import format_timestamp, parse_timestamp, utc
from .weights import Percent, Weight, as_percent, format_percent, percent_json

GROUP = "modelrollout.io"
VERSION = "v1alpha1"
KIND = "ModelRollout"
PLURAL = "modelrollouts"
SINGULAR = "modelrollout"
SHORT_NAMES = ("mro",)

LABEL_MODEL = "modelrollout.io/model"
LABEL_VERSION = "modelrollout.io/version"
LABEL_ROLLOUT = "modelrollout.io/rollout"
ANNOTATION_ACTION = "modelrollout.io/action"
"""Manual action: `<verb>` or `<verb>:<nonce>`; verbs: promote, promote-full, abort, pause, resume, retry."""

__all__ = [
    "AGREEMENT_METRIC",
    "ANNOTATION_ACTION",
    "DURATION_PATTERN",
    "FIXED_TESTS",
    "GROUP",
    "HISTORY_LIMIT",
    "INTERLEAVING_METRIC",
    "KIND",
    "LABEL_MODEL",
    "LABEL_ROLLOUT",
    "LABEL_VERSION",
    "LINEAGE_LIMIT",
    "MESSAGE_MAX_LENGTH",
    "MIRROR_NAME",
    "PENDING_EVENTS_MAX",
    "PENDING_EVENT_MESSAGE_MAX_LENGTH",
    "PLURAL",
    "SCORE_DIFFERENCE_METRIC",
    "SHORT_NAMES",
    "SINGULAR",
    "STATUS_MAX_BYTES",
    "VERSION",
    "ABTestStatus",
    "ABTestStrategy",
    "ActionRecord",
    "AnalysisMethod",
    "AnalysisSpec",
    "AnalysisStatus",
    "ApiModel",
    "BanditArm",
    "BanditPrior",
    "BanditStatus",
    "BanditStrategy",
    "BlueGreenStage",
    "BlueGreenStatus",
    "BlueGreenStrategy",
    "CanaryScale",
    "CanaryStep",
    "CanaryStrategy",
    "Condition",
    "ConditionType",
    "CookieMatch",
    "Dependency",
    "DriftStatistic",
    "ErrorSeriesSpec",
    "EvidenceSpan",
    "FailurePolicy",
    "FixedTest",
    "GatewayAPITraffic",
    "GoalKind",
    "GoalSpec",
    "HeaderRoute",
    "HistoryEntry",
    "InconclusivePolicy",
    "InterleavedStatus",
    "InterleavedStrategy",
    "InterleavingRoute",
    "IstioTraffic",
    "LineageEntry",
    "MetricResult",
    "MetricSpec",
    "MetricType",
    "MirrorRoute",
    "ModelRolloutSpec",
    "ModelRolloutStatus",
    "NotificationEvent",
    "NotificationFormat",
    "NotificationSpec",
    "Outcome",
    "PauseStep",
    "Percent",
    "Phase",
    "PrometheusAuth",
    "PrometheusSpec",
    "PromotionAnalysis",
    "Reason",
    "RouteMatch",
    "RoutesStatus",
    "ScoreThresholdsSpec",
    "SecretKeyRef",
    "SetCanaryScale",
    "SetHeaderRoute",
    "SetMirrorRoute",
    "ShadowStatus",
    "ShadowStrategy",
    "StepAnalysis",
    "StickinessSpec",
    "StrategySpec",
    "StrategyType",
    "ThresholdRange",
    "TrafficProvider",
    "TrafficSpec",
    "UpstreamFailurePolicy",
    "ValueMatch",
    "Verdict",
    "VersionSpec",
    "Weight",
    "align",
    "align_up",
    "as_percent",
    "bounded_status",
    "cut",
    "first_interval_end",
    "format_duration",
    "format_percent",
    "format_timestamp",
    "interleaving_route",
    "is_stale",
    "parse_duration",
    "parse_timestamp",
    "percent_json",
    "resolve_int_or_percent",
    "stored_size",
    "strategy_steps",
    "utc",
]
