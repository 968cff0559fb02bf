"""The item list through time: the version of each entry in force on a day (``ItemTimeline``)
and the check of a proposed decision against those recorded (``check``). The decisions' own
rules, the limits and the guard are in ``domain.item_list``.

The version in force on a day is, per code, the latest decision effective on or before it
(decisions of one day in the order they were recorded); names, limits and matter a decision
does not give are carried over from the version before it. A code without decisions is a
*legacy* entry, in force as its ``category.admitted`` flag says, since always. Before the first
decision on a legacy code is recorded, its legacy version is recorded as a *baseline* decision
(number ``BASELINE_NO``, effective ``SINCE_ALWAYS``), so the history keeps the names and limits
the entry had before any decision.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby

from domain.clock.limits import StageLimit

from .item_list import (
    ACTION_NAMES_ZH,
    BASELINE_NO,
    SINCE_ALWAYS,
    Decision,
    ItemRefused,
    guard,
)


@dataclass(frozen=True)
class Version:
    """An entry as one decision (or the legacy list) left it."""

    code: str
    in_force: bool
    name_zh: str
    name_en: str
    normal: StageLimit | None = None
    urgent: StageLimit | None = None
    matter: str | None = None
    decision: Decision | None = None  # None: a legacy entry (no decisions)

    @property
    def parent_code(self) -> str | None:
        return self.code[:2] if len(self.code) == 4 else None

    @property
    def decision_no(self) -> str | None:
        """The number of the decision that made this version; None for the legacy list."""
        d = self.decision
        return None if d is None or d.baseline else d.decision_no

    @property
    def effective_on(self) -> date | None:
        d = self.decision
        return None if d is None or d.baseline else d.effective_on


def baseline_of(v: Version) -> Decision:
    """The baseline decision recording a legacy version before the code's first decision."""
    return Decision(
        v.code,
        "admit" if v.in_force else "withdraw",
        BASELINE_NO,
        SINCE_ALWAYS,
        name_zh=v.name_zh or None,
        name_en=v.name_en or None,
        normal=v.normal,
        urgent=v.urgent,
        matter=v.matter,
        note="决定记录之前的清单",
    )


def _order(d: Decision) -> tuple:
    return (d.effective_on, d.id is None, d.id or 0, d.seq)


def _apply(prev: Version | None, d: Decision) -> Version:
    base = prev or Version(d.code, False, "", "")
    if d.action == "withdraw":
        return replace(base, in_force=False, decision=d)
    return Version(
        d.code,
        True,
        d.name_zh or base.name_zh,
        d.name_en or base.name_en or d.name_zh or base.name_zh,
        d.normal or base.normal,
        d.urgent or base.urgent,
        d.matter or base.matter,
        d,
    )


def describe(d: Decision | None) -> str:
    """'纳入决定 X（生效 2027-01-01）', or 原清单 for the legacy list and baselines."""
    if d is None or d.baseline:
        return "原清单"
    return f"{ACTION_NAMES_ZH[d.action]}决定 {d.decision_no}（生效 {d.effective_on}）"


class ItemTimeline:
    """Every entry's versions through time, from the recorded decisions and the legacy
    entries (codes without decisions)."""

    def __init__(self, decisions: Iterable[Decision], legacy: Mapping[str, Version]) -> None:
        self._legacy = dict(legacy)
        self._days: dict[str, list[date]] = {}
        self._steps: dict[str, list[tuple[Decision, Version]]] = {}
        ordered = sorted(decisions, key=lambda d: (d.code, _order(d)))
        for code, group in groupby(ordered, key=lambda d: d.code):
            prev = self._legacy.get(code)
            steps = []
            for d in group:
                prev = _apply(prev, d)
                steps.append((d, prev))
            self._steps[code] = steps
            self._days[code] = [d.effective_on for d, _ in steps]

    def codes(self) -> list[str]:
        """Every code with a version (legacy or decided), in code order."""
        return sorted(set(self._legacy) | set(self._steps))

    def version(self, code: str, day: date) -> Version | None:
        """The version of ``code`` in force on ``day`` (in force or withdrawn); None when the
        code is unknown or its first decision is later."""
        steps = self._steps.get(code)
        if not steps:
            return self._legacy.get(code)
        i = bisect.bisect_right(self._days[code], day)
        return steps[i - 1][1] if i else self._legacy.get(code)

    def in_force(self, code: str, day: date) -> bool:
        v = self.version(code, day)
        return v is not None and v.in_force

    def listing(self, day: date) -> list[Version]:
        """The entries in force on ``day``, by code (a minor right after its major)."""
        out = [self.version(c, day) for c in self.codes()]
        return [v for v in out if v is not None and v.in_force]

    def history(self, code: str | None = None) -> list[tuple[Decision, Version]]:
        """(decision, the version it made) of one code or of every code, in effective order."""
        codes = [code] if code is not None else list(self._steps)
        rows = [step for c in codes for step in self._steps.get(c, [])]
        return sorted(rows, key=lambda s: (_order(s[0]), s[0].code))

    def decisions(self, code: str) -> list[Decision]:
        return [d for d, _ in self._steps.get(code, [])]

    def refusal(self, code: str, day: date) -> str | None:
        """Why a ticket of category ``code`` dated ``day`` (local) is refused at ingest, or
        None when the category is in force that day (English, like the API's messages)."""
        v = self.version(code, day)
        if v is not None and v.in_force:
            return None
        if v is None and code not in self._steps:
            return f"unknown category {code!r}"
        if v is None:
            later = next((d for d in self.decisions(code) if d.action == "admit"), None)
            when = (
                f" (effective {later.effective_on}, decision {later.decision_no})" if later else ""
            )
            return f"category {code} is not yet admitted to the item list on {day}{when}"
        d = v.decision
        if d is None or d.baseline:
            return f"category {code} is withdrawn from the item list"
        return (
            f"category {code} was withdrawn from the item list on {d.effective_on}"
            f" (decision {d.decision_no})"
        )


def effective_limits(v: Version, timeline: ItemTimeline, day: date) -> tuple:
    """(normal, urgent, normal inherited, urgent inherited): a minor without a limit of its
    own runs on its major's (``domain.clock.limits.limit_for`` falls back the same way)."""
    major = timeline.version(v.parent_code, day) if v.parent_code else None
    normal = v.normal or (major.normal if major else None)
    urgent = v.urgent or (major.urgent if major else None)
    return normal, urgent, normal is not v.normal, urgent is not v.urgent


# ------------------------------------------------------------------ checking a proposal


@dataclass(frozen=True)
class Verdict:
    """What recording a proposal means: the decisions to record (the proposal, then the
    minors a major's withdrawal takes with it), the baselines to record first, or the
    identical decision already recorded (a re-send: nothing to do)."""

    decisions: tuple[Decision, ...] = ()
    baselines: tuple[Decision, ...] = ()
    duplicate: Decision | None = None


def check(
    proposal: Decision, recorded: Sequence[Decision], legacy: Mapping[str, Version]
) -> Verdict:
    """The verdict on ``proposal`` (from ``item_list.decision_from``) given the ``recorded``
    decisions and the ``legacy`` entries; ItemRefused when a rule refuses it (``guarded`` for
    the guard's refusal)."""
    if proposal.action != "withdraw":
        refused = guard(proposal.name_zh, proposal.name_en, proposal.matter)
        if refused is not None:
            raise refused
    for d in recorded:
        if d.key == proposal.key:
            if d.same_as(proposal):
                return Verdict(duplicate=d)
            raise ItemRefused(
                "decision_no",
                f"决定文号 {proposal.decision_no} 已用于 {proposal.code} 的另一项"
                f"{ACTION_NAMES_ZH[proposal.action]}决定（生效 {d.effective_on}），内容不同："
                "同一文号同一事项只能记录一次，请核对文号",
                conflict=True,
            )
    timeline = ItemTimeline(recorded, legacy)
    new = [proposal]
    major = proposal.code[:2]
    if proposal.action == "withdraw" and len(proposal.code) == 2:
        taken = {d.key for d in recorded}
        for code in timeline.codes():
            if (
                len(code) == 4
                and code.startswith(major)
                and timeline.in_force(code, proposal.effective_on)
                and (code, "withdraw", proposal.decision_no) not in taken
            ):
                note = f"随大类 {major} 一并退出"
                new.append(
                    Decision(
                        code,
                        "withdraw",
                        proposal.decision_no,
                        proposal.effective_on,
                        note=note,
                        seq=len(new),
                    )
                )
    decided = {d.code for d in recorded}
    fresh = [c for c in dict.fromkeys(d.code for d in new) if c not in decided and c in legacy]
    baselines = [baseline_of(legacy[c]) for c in fresh]
    family = [d for d in recorded if d.code[:2] == major] + baselines + new
    _replay(family, {c: v for c, v in legacy.items() if c[:2] == major})
    return Verdict(decisions=tuple(new), baselines=tuple(baselines))


def _replay(decisions: Sequence[Decision], legacy: Mapping[str, Version]) -> None:
    """Walk the family's decisions day by day and refuse the first inconsistency (an admit of
    an entry in force, an amend or withdrawal of one that is not, a minor in force without its
    major), naming the recorded decision it breaks when that is not the proposal itself."""
    state: dict[str, bool] = {c: v.in_force for c, v in legacy.items()}
    by: dict[str, Decision | None] = {}
    for day, group in groupby(sorted(decisions, key=_order), key=lambda d: d.effective_on):
        touched = set()
        for d in group:
            on = state.get(d.code, False)
            touched.add(d.code)
            if not d.baseline:
                if d.action == "admit" and on:
                    since = describe(by.get(d.code))
                    message = f"{d.code} 在 {day} 已在清单中（{since}），改名称或时限请用“调整”"
                    raise _conflict(d, message)
                if d.action != "admit" and not on:
                    why = describe(by.get(d.code)) if d.code in by else "从未纳入"
                    verb = ACTION_NAMES_ZH[d.action]
                    raise _conflict(d, f"{d.code} 在 {day} 不在清单中（{why}），不能{verb}")
            state[d.code] = d.action != "withdraw"
            by[d.code] = d
        for code, on in sorted(state.items()):
            if on and len(code) == 4 and not state.get(code[:2], False):
                if code in touched or code[:2] in touched:
                    raise _conflict(
                        by[code] if code in touched else by[code[:2]],
                        f"自 {day} 起小类 {code} 在清单中而其大类 {code[:2]} 不在："
                        f"须先纳入大类 {code[:2]}，或把生效日期定在大类生效之后",
                    )


def _conflict(d: Decision | None, message: str) -> ItemRefused:
    if d is None or d.id is None:  # the proposal (or a minor it takes with it) itself
        return ItemRefused("code", message)
    return ItemRefused(
        "effective_on",
        f"与已记录的{describe(d)}（{d.code}）冲突：本决定生效后，{message}",
    )
