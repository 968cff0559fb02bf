"""Masking of personal data (DOMAIN.md §7): the one place that decides how a personal field
looks to a role below the field's tier. Every output (screen, map cards and popups, API,
exports, logs) goes through ``mask`` or ``Masker``.

    张三丰 → 张**        13812341234 → 138****1234      330402199001011234 → (left out)
    嘉兴市南湖区东栅街道东进路12号3幢 → 嘉兴市南湖区东栅街道东进路
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.access import FIELD_TIERS, Role, Tier, tier_of

ID_HIDDEN = "（已隐藏）"

_DIGITS = re.compile(r"\d")
# Chinese addresses run coarse to fine; keep up to the road (路/街/道/巷/弄/大道/村/小区 …),
# drop the door number, building, unit and room.
_ROAD = re.compile(
    r"^(.*?(?:大道|路|街|巷|弄|胡同|村|社区|小区|公路))(?=[^路街巷弄村区]*$|\d|[甲乙丙之])"
)
_NUMBERED = re.compile(r"\d.*$")


def name(value: str | None) -> str | None:
    """A person's name with everything but the first character starred: 张三 → 张*."""
    if not value:
        return value
    value = value.strip()
    return value[:1] + "*" * max(1, len(value) - 1)


def phone(value: str | None) -> str | None:
    """A phone number with the middle starred: 13812341234 → 138****1234; short numbers keep
    only their last two digits."""
    if not value:
        return value
    digits = _DIGITS.findall(value)
    if len(digits) >= 7:
        return "".join(digits[:3]) + "****" + "".join(digits[-4:])
    return "*" * max(0, len(digits) - 2) + "".join(digits[-2:])


def id_number(_value: str | None) -> str | None:
    """ID numbers are never shown masked in part below L4: the field is replaced."""
    return None if _value is None else ID_HIDDEN


def address(value: str | None) -> str | None:
    """An address cut to road level: door numbers, buildings and rooms dropped."""
    if not value:
        return value
    value = value.strip()
    m = _ROAD.match(value)
    if m:
        return m.group(1)
    # No road word: drop from the first digit on (door and room numbers), keep at least the
    # first few characters so the area is still recognisable.
    cut = _NUMBERED.sub("", value)
    return cut if cut else "（地址已隐藏）"


_MASKERS = {
    "staff.name": name,
    "ticket.reporter_name": name,
    "staff.phone": phone,
    "ticket.reporter_phone": phone,
    "ticket.address": address,
    "person.id_number": id_number,
}


def mask(field: str, value: Any, tier: Tier) -> Any:
    """``value`` as a reader of ``tier`` may see it: unchanged at or above the field's tier,
    masked below it. Fields without a text masker (points, tracks) give None below their tier:
    the caller leaves them out or aggregates them."""
    if tier >= FIELD_TIERS.get(field, Tier.L2):
        return value
    fn = _MASKERS.get(field)
    return fn(value) if fn else None


@dataclass(frozen=True)
class Masker:
    """``mask`` bound to one reader's tier: ``Masker.for_role("analyst").field("staff.name",
    "张三")`` → "张*"."""

    tier: Tier

    @classmethod
    def for_role(cls, role: Role | str) -> Masker:
        return cls(tier_of(role))

    def field(self, field: str, value: Any) -> Any:
        return mask(field, value, self.tier)

    def sees(self, field: str) -> bool:
        return self.tier >= FIELD_TIERS.get(field, Tier.L2)

    def record(self, row: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
        """A copy of ``row`` with each key of ``fields`` masked as the field it maps to."""
        out = dict(row)
        for key, field in fields.items():
            if key in out:
                out[key] = self.field(field, out[key])
        return out


# Personal columns of the analytics tables (/analytics exports, the monthly report) by column
# key, and the field whose tier rule masks them; a personal column of no known field is hidden
# below L3 (free text such as survey comments).
TABLE_FIELDS = {
    "name": "staff.name",
    "worker": "staff.name",
    "phone": "staff.phone",
    "address": "ticket.address",
}


def table_personal_fields(table: dict[str, Any]) -> dict[str, str]:
    """{column key: masking field ('' = hidden below L3)} of a table's personal columns;
    ``table["personal"]`` is a list of keys or a {key: field} dict."""
    personal = table.get("personal") or []
    if isinstance(personal, dict):
        return {str(k): str(v) for k, v in personal.items()}
    return {str(k): TABLE_FIELDS.get(str(k), "") for k in personal}


def mask_cell(field: str, value: Any, tier: Tier) -> Any:
    """One personal cell as a reader of ``tier`` may see it (see ``table_personal_fields``)."""
    if value is None:
        return None
    if field:
        return mask(field, value, tier)
    return value if tier >= Tier.L3 else ID_HIDDEN


def mask_table_rows(table: dict[str, Any], tier: Tier) -> list[list[Any]]:
    """The rows of an analytics table with its personal columns masked for ``tier``."""
    fields = table_personal_fields(table)
    keys = [c[0] for c in table.get("columns") or []]
    idx = [(i, fields[k]) for i, k in enumerate(keys) if k in fields]
    rows = []
    for row in table.get("rows") or []:
        row = list(row)
        for i, field in idx:
            if i < len(row):
                row[i] = mask_cell(field, row[i], tier)
        rows.append(row)
    return rows
