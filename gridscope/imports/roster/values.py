"""Reading the cells of staff and department files: mobile numbers, dates, code lists, roles,
department kinds and levels. Each reader returns the value or None when the cell cannot be
read; the caller says why in the rejects file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

from domain.vocabulary import ROLE_NAMES_ZH

from ..columns import DEPARTMENT_KINDS, DEPARTMENT_LEVELS

# Mainland mobile numbers (1[3-9] and 9 digits), the public contact of grid staff (JX 15).
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MOBILE_NOISE = re.compile(r"[\s\-()（）.]")
# Other countries' numbers in international form (E.164: + country code, 8–15 digits in all).
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{7,14}")
_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_LIST_SPLIT = re.compile(r"[;；、,，|\s]+")
# Department codes: letters, digits, - _ . (codes of other systems), at most 40.
DEPARTMENT_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,39}")
# A staff number: any text without spaces, at most 64 characters.
STAFF_NO = re.compile(r"\S{1,64}")


def mobile(text: str) -> str | None:
    """'+86 138-0573-1234' → '13805731234' (a mainland mobile, the usual case); a number of
    another country in international form ('+1 617-635-4900' → '+16176354900', 8 to 15
    digits, E.164) is kept as such; None for anything else."""
    digits = _MOBILE_NOISE.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if _MOBILE.fullmatch(digits):
        return digits
    if _INTERNATIONAL.fullmatch(digits) and not digits.startswith("+86"):
        return digits
    return None


def day(text: str) -> date | None:
    """'2024-03-01', '2024/3/1', '2024.3.1', '2024年3月1日', '20240301' (and a time after it,
    ignored) → date; None when unreadable or not a real day."""
    text = text.strip()
    m = _DATE.match(text) or _COMPACT_DATE.fullmatch(text)
    if m is None:
        return None
    rest = text[m.end() :].strip()
    if rest and not re.fullmatch(r"[0-9:.T ]+", rest):
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def code_list(text: str) -> list[str]:
    """Codes in one cell, split at ; ； 、 , ， | or spaces; duplicates dropped, order kept."""
    return list(dict.fromkeys(c for c in _LIST_SPLIT.split(text.strip()) if c))


def _lookup(named: Mapping[str, str], *extra: tuple[str, str]) -> Mapping[str, str]:
    """A case-, space- and bracket-blind lookup: the names (zh → code), the codes themselves
    and ``extra`` (variant → code)."""
    table = {_key(k): v for k, v in named.items()} | {_key(v): v for v in named.values()}
    return MappingProxyType(table | {_key(k): v for k, v in extra})


def _key(text: str) -> str:
    flat = "".join(text.split()).lower()
    return (
        flat.replace("（", "(")
        .replace("）", ")")
        .replace("/", "")
        .replace("(", "")
        .replace(")", "")
    )


ROLES = _lookup({zh: code for code, zh in ROLE_NAMES_ZH.items()})
DEPARTMENT_KIND_CODES = _lookup(
    DEPARTMENT_KINDS, ("联动单位", "linked"), ("网格化服务管理机构", "grid_institution")
)
LEVEL_CODES = _lookup(
    DEPARTMENT_LEVELS,
    *[(k, "city") for k in ("市级", "地市")],
    *[(k, "county") for k in ("县", "区", "县区", "区县", "县级", "区级", "县(市、区)")],
    *[(k, "town") for k in ("镇", "乡", "街道", "乡镇", "镇街", "镇级", "街道级")],
    *[(k, "community") for k in ("村", "社区", "村居", "村级", "社区级")],
)


def role(text: str) -> str | None:
    """网格长 or grid_chief → 'grid_chief' (domain.vocabulary.ROLE_NAMES_ZH); None if unknown."""
    return ROLES.get(_key(text))


def department_kind(text: str) -> str | None:
    """联动部门/服务单位/网格化机构 or the code → 'linked'|'service_unit'|'grid_institution'."""
    return DEPARTMENT_KIND_CODES.get(_key(text))


def level(text: str) -> str | None:
    """市/县（区）/镇（街道）/村（社区）, a variant (区, 街道, 社区 …) or the code → level code."""
    return LEVEL_CODES.get(_key(text))
