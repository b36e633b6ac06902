"""`spec.notifications`: who hears of a rollout's transitions, and in which message format.

The receiver's URL is read from a Secret, never written in the spec: an incoming-webhook URL is
itself the credential (anyone holding a Slack or Teams webhook URL may post to the channel)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from . import crd_rules as rules
from ._model import NAME_PATTERN, ApiModel
from ._model import require as _require
from .analysis_spec import SecretKeyRef


class NotificationFormat(StrEnum):
    WEBHOOK = "webhook"
    """A JSON object of the transition's facts (`id`, `event`, `rollout`, `candidate`, ...)."""
    SLACK = "slack"
    """A Slack incoming-webhook message (`text` and `blocks`)."""
    TEAMS = "teams"
    """A Microsoft Teams incoming-webhook message card (`@type: MessageCard`)."""


class NotificationEvent(StrEnum):
    STARTED = "Started"
    """A rollout of a candidate started."""
    STEP_COMPLETED = "StepCompleted"
    """A step completed."""
    PAUSED = "Paused"
    """The rollout paused (a pause step, a person, an inconclusive or failed analysis)."""
    PROMOTED = "Promoted"
    """The candidate became the stable version."""
    ROLLED_BACK = "RolledBack"
    """The candidate was rolled back or aborted; the stable serves everything."""
    FAILED = "Failed"
    """The rollout is stuck: capacity missed its deadline, an upstream model failed, the
    candidate's template is invalid."""


class NotificationSpec(ApiModel):
    """One receiver of the rollout's transitions."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """A name for this receiver, unique in the list (it appears in Events about it)."""
    format: NotificationFormat
    """webhook (generic JSON), slack or teams."""
    url_secret: SecretKeyRef
    """The key of a Secret in the ModelRollout's namespace holding the receiver's URL. The
    Secret must be labelled `modelrollout.io/notification-credentials: "true"` unless the
    operator runs with `--notification-allowed-url`; the URL must be https unless it lies under
    such an allowed prefix."""
    events: list[NotificationEvent] = Field(
        default_factory=lambda: list(NotificationEvent), min_length=1, max_length=len(NotificationEvent)
    )
    """Which transitions to send (default: all)."""

    @model_validator(mode="after")
    def _events_once(self) -> Self:
        _require(len(set(self.events)) == len(self.events), rules.NOTIFICATION_EVENTS_UNIQUE)
        return self


NOTIFICATIONS_MAX = 8
"""Receivers per ModelRollout."""


def names_unique(notifications: list[NotificationSpec] | None) -> bool:
    names = [notification.name for notification in notifications or []]
    return len(set(names)) == len(names)
