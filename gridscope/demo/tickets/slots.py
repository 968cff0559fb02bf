"""The lifecycle template: a fixed sequence of slots (one action each), and who acts in each.

Every ticket takes a subset of the slots, in this order. Actions and states are those of
``domain.workflow.rules``; ``next_state_table`` is ``rules.TRANSITIONS`` as a lookup array.
"""

from __future__ import annotations

import numpy as np

from domain.vocabulary import ACTOR_KINDS
from domain.workflow.rules import TRANSITIONS, Action, State

# ---- slots: the lifecycle template, in chronological order ----------------------------------

SLOTS: tuple[tuple[str, str], ...] = (
    ("create", "create"),
    ("self_resolve", Action.SELF_RESOLVE),
    ("sr_close", Action.CLOSE),
    ("report", Action.REPORT),
    ("request_info", Action.REQUEST_INFO),
    ("supply_info", Action.SUPPLY_INFO),
    ("reject", Action.REJECT),
    ("accept", Action.ACCEPT),
    ("escalate", Action.ESCALATE),
    ("dispatch1", Action.DISPATCH),
    ("return_unsigned", Action.RETURN),
    ("sign1", Action.SIGN),
    ("return_signed", Action.RETURN),
    ("dispatch2", Action.DISPATCH),
    ("sign2", Action.SIGN),
    ("request_extension", Action.REQUEST_EXTENSION),
    ("approve_extension", Action.APPROVE_EXTENSION),
    ("reject_extension", Action.REJECT_EXTENSION),
    ("suspend", Action.SUSPEND),
    ("resume", Action.RESUME),
    ("feedback1", Action.FEEDBACK),
    ("verify1", Action.START_VERIFY),
    ("fail1", Action.VERIFY_FAIL),
    ("feedback2", Action.FEEDBACK),
    ("verify2", Action.START_VERIFY),
    ("fail2", Action.VERIFY_FAIL),
    ("feedback3", Action.FEEDBACK),
    ("verify3", Action.START_VERIFY),
    ("pass", Action.VERIFY_PASS),
    ("survey", Action.SURVEY),
)
K = len(SLOTS)
S = {name: i for i, (name, _) in enumerate(SLOTS)}
ACTIONS = ("create", *(a.value for a in Action), "supervise")
ACTION_IDX = {a: i for i, a in enumerate(ACTIONS)}
SLOT_ACTION = np.array([ACTION_IDX[str(a)] for _, a in SLOTS], dtype=np.int16)
STATES = tuple(s.value for s in State)
STATE_IDX = {s: i for i, s in enumerate(STATES)}
# States in which the handling has been fed back (the lead's feedback is the finish time).
FED_BACK_IDX = [STATE_IDX[s] for s in ("feedback", "verifying", "closed", "surveyed")]
# Who acts in each slot: (actor kind, actor id source, task id source); None = per source.
_W, _C, _D = "worker", "centre", "department"
SLOT_ACTORS: dict[str, tuple[str | None, str | None, str | None]] = {
    "create": (None, "source", None),
    "self_resolve": (_W, "worker", None),
    "sr_close": (_W, "worker", None),
    "report": (_W, "worker", None),
    "request_info": (_C, "centre", None),
    "supply_info": (None, "source", None),
    "reject": (_C, "centre", None),
    "accept": (_C, "centre", None),
    "escalate": (_C, "centre", None),
    "dispatch1": (_C, "centre", "task1"),
    "return_unsigned": (_D, "lead1", "task1"),
    "sign1": (_D, "lead1", "task1"),
    "return_signed": (_D, "lead1", "task1"),
    "dispatch2": (_C, "centre", "task2"),
    "sign2": (_D, "lead2", "task2"),
    "request_extension": (_D, "lead", "task"),
    "approve_extension": (_C, "centre", "task"),
    "reject_extension": (_C, "centre", "task"),
    "suspend": (_C, "centre", None),
    "resume": (_C, "centre", None),
    "feedback1": (_D, "lead", "task"),
    "verify1": (_W, "worker", None),
    "fail1": (_W, "worker", None),
    "feedback2": (_D, "lead", "task"),
    "verify2": (_W, "worker", None),
    "fail2": (_W, "worker", None),
    "feedback3": (_D, "lead", "task"),
    "verify3": (_W, "worker", None),
    "pass": (_W, "worker", None),
    "survey": (_C, "centre", None),
}
SOURCE_ACTOR = {
    "patrol": "worker",
    "hotline": "centre",
    "app": "public",
    "department": "department",
    "video": "system",
}
# Who supplies missing information, by source.
SUPPLY_ACTOR = {
    "patrol": "worker",
    "hotline": "public",
    "app": "public",
    "department": "department",
    "video": "centre",
}


if not {k for k, _, _ in SLOT_ACTORS.values() if k} | set(SOURCE_ACTOR.values()) | set(
    SUPPLY_ACTOR.values()
) <= set(ACTOR_KINDS):
    raise AssertionError("an actor kind of the slot tables is not in domain.vocabulary.ACTOR_KINDS")


def next_state_table() -> np.ndarray:
    """table[state, action] -> next state index, -1 where rules.TRANSITIONS has no entry."""
    table = np.full((len(STATES), len(ACTIONS)), -1, dtype=np.int16)
    for (state, action), to in TRANSITIONS.items():
        table[STATE_IDX[state.value], ACTION_IDX[action.value]] = STATE_IDX[to.value]
    return table
