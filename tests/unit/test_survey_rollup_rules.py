"""The pure parts of the survey records and the per-worker rollup (issue #12): the channel
vocabulary, the demo's channel mix and its SQL draw bounds, which steps count for a worker, the
live simulator's survey payload and the API model's refusals."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pydantic import ValidationError

from domain.vocabulary import SATISFACTION
from domain.workflow.rules import Action, State
from domain.workflow.survey import (
    DEFAULT_SURVEY_CHANNEL,
    SURVEY_CHANNEL_NAMES_ZH,
    SURVEY_CHANNELS,
    SURVEY_COMMENT_MAX,
    survey_channel,
)
from gridscope.api.models import TransitionCreate
from gridscope.demo import live
from gridscope.demo.surveys import CHANNEL_MIX, UNSATISFIED_COMMENTS, draw_channel, draw_comment
from queries.analytics.rollup_build import channel_bounds
from queries.tickets.rollup import WORKER_COLUMNS, WORKER_STEP_COUNTS, worker_step_counts


def test_channels_match_the_survey_table_and_default_to_phone():
    # The CHECK of migration 0008 lists the same channels in the same order.
    assert SURVEY_CHANNELS == ("phone", "sms", "app", "wechat", "visit", "other")
    assert set(SURVEY_CHANNEL_NAMES_ZH) == set(SURVEY_CHANNELS)
    assert survey_channel(None) == DEFAULT_SURVEY_CHANNEL == "phone"
    assert survey_channel("visit") == "visit"
    with pytest.raises(ValueError, match="phone, sms, app, wechat, visit, other"):
        survey_channel("fax")


def test_channel_bounds_are_the_cumulative_shares():
    channels, bounds = channel_bounds([("phone", 2.0), ("sms", 1.0), ("app", 1.0)])
    assert channels == ["phone", "sms", "app"] and bounds == pytest.approx([0.5, 0.75])
    assert channel_bounds([]) == (["phone"], [])
    assert channel_bounds([("wechat", 1)]) == (["wechat"], [])
    with pytest.raises(ValueError, match="unknown survey channels"):
        channel_bounds([("fax", 1.0)])
    with pytest.raises(ValueError, match="positive"):
        channel_bounds([("phone", 1.0), ("sms", 0.0)])


def test_the_demo_mix_and_comments_are_valid():
    assert {c for c, _ in CHANNEL_MIX} == set(SURVEY_CHANNELS)
    assert sum(w for _, w in CHANNEL_MIX) == pytest.approx(1.0)
    assert 5 <= len(UNSATISFIED_COMMENTS) == len(set(UNSATISFIED_COMMENTS))
    for c in UNSATISFIED_COMMENTS:
        assert 0 < len(c) <= SURVEY_COMMENT_MAX and any("\u4e00" <= ch <= "\u9fff" for ch in c)


def test_a_step_counts_for_a_worker_only_when_a_named_worker_took_it():
    counts = {"reported": 1, "reported_on_time": 1, "closed": 1, "verify_due": 0}
    assert worker_step_counts("worker", 12, counts) == {"reported": 1, "reported_on_time": 1}
    assert worker_step_counts("worker", None, counts) == {}
    assert worker_step_counts("centre", 12, counts) == {}
    assert set(WORKER_STEP_COUNTS) < set(WORKER_COLUMNS)
    assert "discovered" not in WORKER_STEP_COUNTS  # a creation counts it (queries/tickets/create)


def test_the_live_simulator_surveys_with_a_channel_and_says_why_when_unsatisfied():
    rng = np.random.default_rng(4)
    results, channels = Counter(), Counter()
    for _ in range(4000):
        action, payload = live.next_action(State.CLOSED.value, rng)
        assert action == Action.SURVEY and payload["satisfaction"] in SATISFACTION
        assert payload["channel"] in SURVEY_CHANNELS
        unsatisfied = payload["satisfaction"] == "unsatisfied"
        assert (
            (payload["comment"] in UNSATISFIED_COMMENTS) if unsatisfied else not payload["comment"]
        )
        results[payload["satisfaction"]] += 1
        channels[payload["channel"]] += 1
    for channel, share in CHANNEL_MIX:
        assert abs(channels[channel] / 4000 - share) < 0.025, channel
    assert results["unsatisfied"] > 100
    assert draw_comment(rng, "satisfied") is None and draw_channel(rng) in SURVEY_CHANNELS
    # Worker steps are taken by workers (the simulator names one of the ticket's grid).
    for action in (Action.SELF_RESOLVE, Action.REPORT, Action.VERIFY_PASS, Action.VERIFY_FAIL):
        assert live.STEP_ACTORS[action] == "worker"


def _problems(body: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        TransitionCreate.model_validate(body, strict=True)
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc.value.errors()}


def test_the_api_model_refuses_a_bad_channel_and_a_long_comment():
    ok = TransitionCreate.model_validate(
        {"action": "survey", "satisfaction": "basic", "channel": "sms", "comment": "好"},
        strict=True,
    )
    assert (ok.channel, ok.comment) == ("sms", "好")
    assert TransitionCreate.model_validate({"action": "survey"}, strict=True).channel is None
    bad = _problems({"action": "survey", "satisfaction": "basic", "channel": "fax"})
    assert list(bad) == ["channel"] and all(c in bad["channel"] for c in SURVEY_CHANNELS)
    long = _problems({"action": "survey", "comment": "长" * (SURVEY_COMMENT_MAX + 1)})
    assert list(long) == ["comment"] and str(SURVEY_COMMENT_MAX) in long["comment"]
