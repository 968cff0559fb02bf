import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.workflow import rules
from domain.workflow.rules import Action, IllegalTransition, State


def test_happy_path_replays_to_surveyed():
    actions = [
        "report",
        "accept",
        "dispatch",
        "sign",
        "feedback",
        "start_verify",
        "verify_pass",
        "survey",
    ]
    assert rules.replay(actions) == State.SURVEYED


def test_rework_loop_goes_back_to_in_progress():
    state = rules.replay(
        ["report", "accept", "dispatch", "sign", "feedback", "start_verify", "verify_fail"]
    )
    assert state == State.IN_PROGRESS


def test_illegal_transition_names_state_action_and_allowed():
    with pytest.raises(IllegalTransition) as err:
        rules.next_state("closed", "dispatch")
    assert "'dispatch'" in str(err.value) and "'closed'" in str(err.value)
    assert "survey" in str(err.value)


def test_every_state_is_reachable_from_a_start_state():
    reachable = {State.DISCOVERED, State.REPORTED}
    frontier = list(reachable)
    while frontier:
        s = frontier.pop()
        for a in rules.allowed_actions(s):
            n = rules.next_state(s, a)
            if n not in reachable:
                reachable.add(n)
                frontier.append(n)
    assert reachable == set(State)


def test_final_states_have_no_way_out():
    for s in rules.FINAL_STATES:
        assert rules.allowed_actions(s) == []


@given(st.lists(st.sampled_from(list(Action)), max_size=40))
def test_random_sequences_never_reach_an_unknown_state(actions):
    state = State.DISCOVERED
    for a in actions:
        try:
            state = rules.next_state(state, a)
        except IllegalTransition:
            assert (state, a) not in rules.TRANSITIONS
        assert state in set(State)
