"""Request and response models of the item list's endpoints (/api/v1/items, docs/item-list.md);
the OpenAPI document is generated from these. Dates are ISO ``YYYY-MM-DD`` local days; limits
are written ``5WD`` (working days), ``3WH`` (work hours), ``24h`` (hours), ``30min``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.item_list import MAX_MATTER, MAX_NAME_EN, MAX_NAME_ZH, MAX_NO, MAX_NOTE

from .models import CategoryCode, text

_REQUEST = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_LIMIT = "A handling limit: a number and WD, WH, h or min, e.g. 5WD, 24h, 30min."


class ItemQuery(BaseModel):
    """Query parameters of GET /api/v1/items."""

    model_config = ConfigDict(extra="forbid")

    on: dt.date | None = Field(
        None, description="The local day (YYYY-MM-DD) whose list is shown; default today."
    )


class ItemDecisionCreate(BaseModel):
    """A decision on the item list (POST /api/v1/items/decisions). Sending a recorded decision
    again changes nothing (200); another decision under a number already used for the same code
    and action is refused (409)."""

    model_config = _REQUEST

    action: Literal["admit", "amend", "withdraw"] = Field(
        description="admit (纳入), amend (调整) or withdraw (退出; a major takes its minors)."
    )
    code: CategoryCode = Field(description="Entry code: 'CC' major or 'CCSS' minor.")
    decision_no: text(MAX_NO, 1) = Field(description="Decision number (决定文号).")
    effective_on: dt.date = Field(description="Effective date (生效日期), YYYY-MM-DD.")
    name_zh: text(MAX_NAME_ZH) | None = Field(
        None, description="Chinese name (事项名称); required to admit."
    )
    name_en: text(MAX_NAME_EN) | None = Field(None, description="English name.")
    normal_limit: text(20) | None = Field(None, description=f"一般时限 (T5 handling). {_LIMIT}")
    urgent_limit: text(20) | None = Field(None, description=f"紧急时限 (urgent T5). {_LIMIT}")
    matter: text(MAX_MATTER) | None = Field(
        None,
        description="事项性质 (default 服务管理). Licensing, penalty and enforcement matters "
        "(行政许可、行政处罚、行政强制) are refused (PY 14, JX 12).",
    )
    note: text(MAX_NOTE) | None = Field(None, description="Free text kept with the decision.")


class ItemEntry(BaseModel):
    """An entry of the list in force on the day asked."""

    code: str
    parent_code: str | None
    name_zh: str
    name_en: str
    matter: str
    normal_limit: str | None = Field(description="一般时限, e.g. 5WD.")
    urgent_limit: str | None = Field(description="紧急时限, e.g. 24h.")
    normal_inherited: bool = Field(
        description="true: a minor without a normal limit of its own runs on its major's."
    )
    urgent_inherited: bool = Field(
        description="true: a minor without an urgent limit of its own runs on its major's."
    )
    decision_no: str | None = Field(
        description="The decision that made this version; null: the list before decisions."
    )
    effective_on: dt.date | None


class ItemList(BaseModel):
    on: dt.date
    items: list[ItemEntry]


class ItemDecision(BaseModel):
    """A recorded decision and the version it made."""

    id: int | None
    code: str
    action: Literal["admit", "amend", "withdraw"]
    decision_no: str
    effective_on: dt.date | None = Field(description="null: the list before any decision.")
    baseline: bool = Field(description="true: the entry as it was before its first decision.")
    name_zh: str
    name_en: str
    normal_limit: str | None
    urgent_limit: str | None
    matter: str | None
    note: str | None
    recorded_at: str | None


class ItemHistory(BaseModel):
    code: str
    in_force_today: bool
    decisions: list[ItemDecision]


class ItemDecisionResult(BaseModel):
    """The decision recorded (201), or already recorded (200)."""

    created: bool = Field(description="false: the same decision was recorded before.")
    in_force: bool = Field(
        description="Whether it has taken effect (effective on or before today)."
    )
    decision: ItemDecision
    withdrawn_minors: list[str] = Field(
        description="Minors withdrawn with a major (same decision number)."
    )
