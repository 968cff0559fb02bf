"""The workflow engine against real PostGIS: departments, supervision ladder, log replay."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.workflow import rules
from domain.workflow.rules import Action
from queries.db import connect
from queries.scope import Scope
from queries.supervision import sweep
from queries.tickets import NewTicket, TicketError, Transition, apply_transition, create_ticket
from tests.db.test_write_path import T0, tiny  # noqa: F401 - fixture re-used

ALL = Scope("")


def add_department(conn, code: str) -> int:
    return conn.execute(
        "INSERT INTO department (code, name, kind, region_code) VALUES (%s, %s, 'linked',"
        " '330402') RETURNING id",
        (code, code),
    ).fetchone()[0]


def dispatched_ticket(conn, clocks, assists=()):
    t = create_ticket(conn, clocks, ALL, NewTicket("0601", 120.755, 30.755, "hotline"), now=T0)
    at = T0 + timedelta(minutes=5)
    apply_transition(conn, clocks, ALL, t["id"], Transition("accept", at=at), now=at)
    apply_transition(
        conn,
        clocks,
        ALL,
        t["id"],
        Transition("dispatch", at=at, department_id=1, assist_department_ids=tuple(assists)),
        now=at,
    )
    return t["id"], at


def test_lead_feeds_back_after_the_assisting_departments(tiny):  # noqa: F811
    settings, clocks = tiny
    with connect(settings) as conn:
        assist = add_department(conn, "MZ")
        conn.commit()
        tid, at = dispatched_ticket(conn, clocks, [assist])
        step = lambda **kw: apply_transition(conn, clocks, ALL, tid, Transition(**kw), now=at)  # noqa: E731
        step(action="sign", at=at, department_id=1)
        r = step(action="sign", at=at, department_id=assist, actor_kind="department")
        assert r["task_state"] == "signed" and r["state"] == "in_progress"
        with pytest.raises(TicketError) as err:
            step(action="feedback", at=at, department_id=1)
        assert err.value.status == 409 and str(assist) in err.value.message
        conn.rollback()
        r = step(action="feedback", at=at, department_id=assist, actor_kind="department")
        assert r["task_state"] == "feedback" and r["state"] == "in_progress"
        assert step(action="feedback", at=at, department_id=1)["state"] == "feedback"
        tasks = dict(conn.execute("SELECT role, state FROM ticket_task").fetchall())
        assert tasks == {"lead": "feedback", "assist": "feedback"}
        log = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM ticket_event WHERE ticket_id = %s ORDER BY id", (tid,)
            )
        ]
        assert log == [
            "create",
            "accept",
            "dispatch",
            "sign",
            "task_sign",
            "task_feedback",
            "feedback",
        ]


def test_lead_override_needs_a_comment_and_is_recorded(tiny):  # noqa: F811
    settings, clocks = tiny
    with connect(settings) as conn:
        assist = add_department(conn, "GA")
        conn.commit()
        tid, at = dispatched_ticket(conn, clocks, [assist])
        apply_transition(conn, clocks, ALL, tid, Transition("sign", at=at), now=at)
        with pytest.raises(TicketError) as err:
            apply_transition(
                conn, clocks, ALL, tid, Transition("feedback", at=at, override=True), now=at
            )
        assert err.value.field == "comment"
        conn.rollback()
        apply_transition(
            conn,
            clocks,
            ALL,
            tid,
            Transition("feedback", at=at, override=True, comment="公安已口头反馈"),
            now=at,
        )
        data = conn.execute("SELECT data FROM ticket_event WHERE action = 'feedback'").fetchone()[0]
        assert data == {"override": True, "pending_assist": [assist]}


def test_a_step_dated_before_the_last_event_is_refused(tiny):  # noqa: F811
    settings, clocks = tiny
    with connect(settings) as conn:
        tid, at = dispatched_ticket(conn, clocks)
        with pytest.raises(TicketError) as err:
            apply_transition(
                conn, clocks, ALL, tid, Transition("sign", at=at - timedelta(minutes=1)), now=at
            )
        assert err.value.field == "at"


def test_supervision_ladder_is_swept_once_per_step(tiny):  # noqa: F811
    settings, clocks = tiny
    with connect(settings) as conn:
        tid, at = dispatched_ticket(conn, clocks)  # 06 safety hazards: 3 WD to handle
        due, started = conn.execute(
            "SELECT stage_due_at, stage_started_at FROM ticket WHERE id = %s", (tid,)
        ).fetchone()
        assert sweep(conn, ALL, at) == 0
        warn = conn.execute("SELECT stage_warn_at FROM ticket").fetchone()[0]
        assert sweep(conn, ALL, warn) == 1
        assert sweep(conn, ALL, warn + timedelta(minutes=1)) == 0  # recorded once
        assert sweep(conn, ALL, due + timedelta(minutes=1)) == 1  # yellow card
        assert sweep(conn, ALL, due + (due - started) + timedelta(minutes=1)) == 1  # red card
        rows = conn.execute(
            "SELECT comment, data->>'level', to_state FROM ticket_event"
            " WHERE action = 'supervise' ORDER BY at"
        ).fetchall()
        assert rows == [("预警提醒", "1", None), ("黄牌督办", "2", None), ("红牌督办", "3", None)]
        assert conn.execute("SELECT supervision FROM ticket").fetchone()[0] == 3


def test_suspended_tickets_leave_the_ladder_and_resume_with_a_shifted_due(tiny):  # noqa: F811
    settings, clocks = tiny
    with connect(settings) as conn:
        tid, at = dispatched_ticket(conn, clocks)
        apply_transition(conn, clocks, ALL, tid, Transition("sign", at=at), now=at)
        due = conn.execute("SELECT due_at FROM ticket").fetchone()[0]
        apply_transition(conn, clocks, ALL, tid, Transition("suspend", at=at), now=at)
        assert sweep(conn, ALL, due + timedelta(days=30)) == 0
        later = at + timedelta(days=2)
        apply_transition(conn, clocks, ALL, tid, Transition("resume", at=later), now=later)
        new_due, original = conn.execute("SELECT due_at, original_due_at FROM ticket").fetchone()
        assert new_due == due + timedelta(days=2) and original == new_due


ACTIONS = [a.value for a in Action]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=25))
def test_random_action_sequences_keep_the_database_and_the_log_consistent(tiny, actions):  # noqa: F811
    """Any sequence of requested actions: legal ones apply, illegal ones change nothing, and
    replaying the event log always gives the ticket's stored state."""
    settings, clocks = tiny
    with connect(settings) as conn:
        t = create_ticket(conn, clocks, ALL, NewTicket("0901", 120.755, 30.755, "patrol"), now=T0)
        model = rules.State.DISCOVERED
        at = T0
        for i, action in enumerate(actions):
            at = T0 + timedelta(hours=i + 1)
            tr = Transition(
                action,
                at=at,
                department_id=1,
                satisfaction="satisfied",
                new_due_at=at + timedelta(days=30),
                comment="x",
            )
            events_before = conn.execute(
                "SELECT count(*) FROM ticket_event WHERE ticket_id = %s", (t["id"],)
            ).fetchone()
            try:
                r = apply_transition(conn, clocks, ALL, t["id"], tr, now=at)
            except TicketError:
                conn.rollback()
                assert (model, Action(action)) not in rules.TRANSITIONS or action in (
                    "approve_extension",
                )
                assert (
                    conn.execute(
                        "SELECT count(*) FROM ticket_event WHERE ticket_id = %s", (t["id"],)
                    ).fetchone()
                    == events_before
                )
                continue
            model = rules.next_state(model, action)
            assert r["state"] == model.value
        log = conn.execute(
            "SELECT action, to_state FROM ticket_event WHERE ticket_id = %s AND to_state IS NOT"
            " NULL ORDER BY at, id",
            (t["id"],),
        ).fetchall()
        replayed = rules.replay([a for a, _ in log[1:]], start=rules.State(log[0][1]))
        stored = conn.execute("SELECT state FROM ticket WHERE id = %s", (t["id"],)).fetchone()[0]
        assert replayed.value == stored == model.value
        conn.execute("DELETE FROM stat_daily")
        conn.execute("TRUNCATE ticket_event, ticket_task")
        conn.execute("DELETE FROM ticket")
        conn.commit()
