"""A wall's rotation (轮播): which views a wall cycles through and for how long (issue #10).

Written as text, one step per comma: ``view:seconds``, or ``town:<code>:seconds`` for a given
unit, e.g. ``overview:60,towns:20,town:330402007:30,overdue:30``.

- ``overview``: the wall's whole jurisdiction;
- ``towns``: each town (镇/街道) of the jurisdiction in turn, each for the step's duration;
- ``town:<code>``: one unit (a region or grid code inside the wall's jurisdiction);
- ``overdue``: the overdue board (超期督办榜);
- ``analytics``: the analytics highlights. Reserved: accepted here, skipped at run time (with a
  note) while the product has no /analytics page.

Durations are whole seconds in [MIN_SECONDS, MAX_SECONDS]. An empty text is "no rotation".
Full-width punctuation (，：) typed by an operator on a Chinese keyboard is read as ASCII.
What a step shows (which towns, which names) is decided on the server at run time against the
wall's scope (dashboard/screen/rotation.py); this module only reads and writes the text.
Errors are ``PlaylistError`` with a zh-CN message naming the bad step by position and text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_SECONDS = 10
MAX_SECONDS = 3600
MAX_STEPS = 50
MAX_TEXT = 2000

OVERVIEW = "overview"
TOWNS = "towns"
TOWN = "town"
OVERDUE = "overdue"
ANALYTICS = "analytics"
KINDS: tuple[str, ...] = (OVERVIEW, TOWNS, TOWN, OVERDUE, ANALYTICS)

KIND_NAMES_ZH = {
    OVERVIEW: "全域总览",
    TOWNS: "各镇（街道）轮流",
    TOWN: "指定区域",
    OVERDUE: "超期督办榜",
    ANALYTICS: "分析要点",
}

# A unit code: the characters of a jurisdiction prefix (queries.scope; the code rule is
# pluggable, so letters, '_' and '-' are allowed), non-empty.
_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
_SECONDS = re.compile(r"^[0-9]{1,6}$")
_FULL_WIDTH = str.maketrans({"，": ",", "：": ":", "、": ",", "；": ",", ";": ",", "\n": ","})
_HINT = "可用：overview、towns、town:<编码>、overdue、analytics，如 overview:60,towns:20"


class PlaylistError(ValueError):
    """A playlist text that cannot be read; ``message`` (zh-CN) names the step at fault."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position  # 1-based step number; None for the text as a whole


@dataclass(frozen=True)
class Step:
    """One step of a rotation: a view (one of KINDS), how long it stays, and for ``town``
    the unit's code (empty for every other kind)."""

    kind: str
    seconds: int
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown view {self.kind!r}")
        if not MIN_SECONDS <= self.seconds <= MAX_SECONDS:
            raise ValueError(f"seconds must be {MIN_SECONDS}–{MAX_SECONDS}")
        if (self.kind == TOWN) != bool(self.unit) or (self.unit and not _CODE.match(self.unit)):
            raise ValueError("a unit code goes with the town view only, and must be a code")

    @property
    def text(self) -> str:
        """The step as written in a playlist."""
        if self.kind == TOWN:
            return f"{TOWN}:{self.unit}:{self.seconds}"
        return f"{self.kind}:{self.seconds}"


def _short(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:39] + "…"


def _step(position: int, raw: str) -> Step:
    where = f"第 {position} 步「{_short(raw)}」"

    def bad(why: str) -> PlaylistError:
        return PlaylistError(f"{where}：{why}", position)

    parts = [p.strip() for p in raw.split(":")]
    kind = parts[0].lower()
    if kind not in KINDS:
        raise bad(f"未知的视图 {_short(parts[0]) or '（空）'}；{_HINT}")
    wanted = 3 if kind == TOWN else 2
    if len(parts) < wanted:
        if kind == TOWN:
            raise bad("town 需要区划编码和时长，如 town:330402007:30")
        raise bad(f"缺少时长（秒），如 {kind}:30")
    if len(parts) > wanted:
        form = "town:<编码>:<秒>" if kind == TOWN else f"{kind}:<秒>"
        raise bad(f"格式应为 {form}")
    unit = parts[1] if kind == TOWN else ""
    if kind == TOWN and not _CODE.match(unit):
        raise bad(f"编码 {_short(unit) or '（空）'} 格式不正确（应为区划或网格编码）")
    seconds = parts[-1]
    if not _SECONDS.match(seconds) or not MIN_SECONDS <= int(seconds) <= MAX_SECONDS:
        got = _short(seconds) or "空"
        raise bad(f"时长须为 {MIN_SECONDS}–{MAX_SECONDS} 秒的整数（现为 {got}）")
    return Step(kind, int(seconds), unit)


def parse_playlist(text: str) -> tuple[Step, ...]:
    """The steps of a playlist text, in order; () for an empty text (no rotation). Raises
    PlaylistError naming the first bad step."""
    if not isinstance(text, str):
        raise PlaylistError("轮播设置须为文本")
    if len(text) > MAX_TEXT:
        raise PlaylistError(f"轮播设置过长（最多 {MAX_TEXT} 个字符）")
    items = [i.strip() for i in text.translate(_FULL_WIDTH).split(",")]
    items = [i for i in items if i]  # a trailing or doubled comma is not a step
    if len(items) > MAX_STEPS:
        raise PlaylistError(f"轮播最多 {MAX_STEPS} 步（现有 {len(items)} 步）")
    return tuple(_step(n, raw) for n, raw in enumerate(items, start=1))


def format_playlist(steps: tuple[Step, ...] | list[Step]) -> str:
    """The canonical text of ``steps`` (parse_playlist reads it back to the same steps)."""
    return ",".join(s.text for s in steps)


def normalise_playlist(text: str) -> str:
    """``text`` in canonical form (lower-case views, ASCII punctuation, no spaces); raises
    PlaylistError as parse_playlist."""
    return format_playlist(parse_playlist(text))


def describe(steps: tuple[Step, ...] | list[Step]) -> str:
    """A one-line zh-CN summary for forms and the CLI, e.g. '3 步：全域总览 60 秒 → …'; towns
    count once here (how many towns a wall has is known only at run time)."""
    if not steps:
        return "不轮播"
    parts = []
    for s in steps:
        name = f"{KIND_NAMES_ZH[s.kind]} {s.unit}" if s.kind == TOWN else KIND_NAMES_ZH[s.kind]
        each = "每个 " if s.kind == TOWNS else ""
        parts.append(f"{name}（{each}{s.seconds} 秒）")
    return f"{len(steps)} 步：" + " → ".join(parts)
