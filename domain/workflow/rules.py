"""Pure transition rules of the closed loop (DOMAIN.md §4, ZJ 31–35).

No I/O here: the rules say which action moves a ticket from which state to which, and which
timed stage (T1–T7) starts when a state is entered. Persistence lives in ``queries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    DISCOVERED = "discovered"
    SELF_RESOLVED = "self_resolved"
    REPORTED = "reported"
    NEED_INFO = "need_info"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RETURNED = "returned"
    EXTENSION_PENDING = "extension_pending"
    SUSPENDED = "suspended"
    FEEDBACK = "feedback"
    VERIFYING = "verifying"
    CLOSED = "closed"
    SURVEYED = "surveyed"


class Action(StrEnum):
    SELF_RESOLVE = "self_resolve"
    REPORT = "report"
    ACCEPT = "accept"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    SUPPLY_INFO = "supply_info"
    ESCALATE = "escalate"
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    FEEDBACK = "feedback"
    START_VERIFY = "start_verify"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"  # rework 返工
    CLOSE = "close"
    SURVEY = "survey"


S, A = State, Action

# (from state, action) -> to state. One table, read by the engine, the demo simulator and the docs.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.DISCOVERED, A.SELF_RESOLVE): S.SELF_RESOLVED,
    (S.DISCOVERED, A.REPORT): S.REPORTED,
    (S.SELF_RESOLVED, A.CLOSE): S.CLOSED,
    (S.REPORTED, A.ACCEPT): S.ACCEPTED,
    (S.REPORTED, A.REJECT): S.REJECTED,
    (S.REPORTED, A.REQUEST_INFO): S.NEED_INFO,
    (S.NEED_INFO, A.SUPPLY_INFO): S.REPORTED,
    (S.ACCEPTED, A.DISPATCH): S.DISPATCHED,
    (S.ACCEPTED, A.ESCALATE): S.ESCALATED,
    (S.ESCALATED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.SIGN): S.IN_PROGRESS,
    (S.DISPATCHED, A.RETURN): S.RETURNED,
    (S.IN_PROGRESS, A.RETURN): S.RETURNED,
    (S.RETURNED, A.DISPATCH): S.DISPATCHED,
    (S.RETURNED, A.ESCALATE): S.ESCALATED,
    (S.IN_PROGRESS, A.REQUEST_EXTENSION): S.EXTENSION_PENDING,
    (S.EXTENSION_PENDING, A.APPROVE_EXTENSION): S.IN_PROGRESS,
    (S.EXTENSION_PENDING, A.REJECT_EXTENSION): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, A.RESUME): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.FEEDBACK): S.FEEDBACK,
    (S.FEEDBACK, A.START_VERIFY): S.VERIFYING,
    (S.VERIFYING, A.VERIFY_PASS): S.CLOSED,
    (S.VERIFYING, A.VERIFY_FAIL): S.IN_PROGRESS,
    (S.CLOSED, A.SURVEY): S.SURVEYED,
}

OPEN_STATES: frozenset[State] = frozenset(
    s for s in State if s not in {S.CLOSED, S.SURVEYED, S.REJECTED}
)
FINAL_STATES: frozenset[State] = frozenset({S.SURVEYED, S.REJECTED})

# A department's task on a ticket (ticket_task.state), in the schema's order.
TASK_STATES: tuple[str, ...] = ("dispatched", "signed", "returned", "feedback", "cancelled")
# Task states in which the department still owes a sign-off or a feedback.
OPEN_TASK_STATES: tuple[str, ...] = ("dispatched", "signed")
# A department's part in a ticket (ticket_task.role): the one that answers for it, or a helper.
TASK_ROLES: tuple[str, ...] = ("lead", "assist")

# The timed stage (DOMAIN.md §4 timers) that runs while a ticket sits in a state.
# T4 (sign) and T5 (handle) both start at dispatch; the ticket-level clock shown on screens is
# T5, the handling deadline, while T4 is tracked per department task.
STAGE_OF_STATE: dict[State, str | None] = {
    S.DISCOVERED: "T1",
    S.SELF_RESOLVED: None,
    S.REPORTED: "T2",
    S.NEED_INFO: None,
    S.REJECTED: None,
    S.ACCEPTED: "T3",
    S.ESCALATED: "T3",
    S.DISPATCHED: "T5",
    S.IN_PROGRESS: "T5",
    S.RETURNED: "T3",
    S.EXTENSION_PENDING: "T5",
    S.SUSPENDED: None,
    S.FEEDBACK: "T6",
    S.VERIFYING: "T6",
    S.CLOSED: "T7",
    S.SURVEYED: None,
}

STAGE_NAMES_ZH = {
    "T1": "上报",
    "T2": "受理",
    "T3": "分办",
    "T4": "签收",
    "T5": "处置",
    "T6": "核查",
    "T7": "回访",
}

STATE_NAMES_ZH: dict[State, str] = {
    S.DISCOVERED: "发现",
    S.SELF_RESOLVED: "就地解决",
    S.REPORTED: "已上报",
    S.NEED_INFO: "待补充",
    S.REJECTED: "不予受理",
    S.ACCEPTED: "已受理",
    S.ESCALATED: "已上报上级",
    S.DISPATCHED: "已分办",
    S.IN_PROGRESS: "处置中",
    S.RETURNED: "已退回",
    S.EXTENSION_PENDING: "延期待批",
    S.SUSPENDED: "挂账",
    S.FEEDBACK: "已反馈",
    S.VERIFYING: "核查中",
    S.CLOSED: "已结案",
    S.SURVEYED: "已回访",
}


class IllegalTransition(ValueError):
    """An action that the closed loop does not allow from the ticket's current state."""

    def __init__(self, state: State, action: Action):
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == state)
        super().__init__(
            f"action '{action.value}' is not allowed in state '{state.value}'"
            f" (allowed: {', '.join(allowed) or 'none'})"
        )
        self.state, self.action, self.allowed = state, action, allowed


@dataclass(frozen=True)
class Step:
    """One applied transition."""

    action: Action
    from_state: State
    to_state: State


def next_state(state: State | str, action: Action | str) -> State:
    """The state after ``action`` from ``state``; raises IllegalTransition when not allowed."""
    state, action = State(state), Action(action)
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None


def allowed_actions(state: State | str) -> list[Action]:
    """Actions that the rules allow from ``state``."""
    state = State(state)
    return [a for (s, a) in TRANSITIONS if s == state]


def replay(actions: list[Action | str], start: State = S.DISCOVERED) -> State:
    """Fold a sequence of actions from ``start``; the state a ticket's log rebuilds to."""
    state = start
    for action in actions:
        state = next_state(state, action)
    return state
