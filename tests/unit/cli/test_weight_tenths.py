"""The plugin shows weights of tenths of a percent as the operator writes them (`0.5%`), and whole
weights as before (`25%`), in `get` and in `status`."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.get import table
from modelrollout.cli.status_format import render_status, requested_weight

from .samples import PAUSED_AT_STEP_2, rollout

NOW = datetime(2026, 12, 6, 10, 4, tzinfo=UTC)
STEPS = [{"setWeight": 0.5}, {"pause": {}}, {"setWeight": 25.0}, {"pause": {}}]
AT_HALF = {**PAUSED_AT_STEP_2, "candidateWeight": 0.5, "weights": {"v1": 99.5, "v2": 0.5}}


def test_get_shows_the_decimal_weight() -> None:
    body = rollout(AT_HALF, strategy={"type": "Canary", "canary": {"steps": STEPS}})
    assert table([body], NOW, wide=False, namespaces=False).splitlines()[1].split()[4] == "0.5%"


def test_status_shows_requested_and_set_weights_with_their_decimal() -> None:
    body = rollout(AT_HALF, strategy={"type": "Canary", "canary": {"steps": STEPS}})
    text = render_status(body, [], [], NOW)
    assert "requested  v2 0.5% (step 1)" in text
    assert "set        v1 99.5%, v2 0.5%" in text
    later = rollout({**AT_HALF, "currentStep": 3}, strategy={"type": "Canary", "canary": {"steps": STEPS}})
    assert requested_weight(later) == "v2 25% (step 3)", "a whole weight written 25.0 is shown as 25"
