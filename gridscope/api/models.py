"""Request and response models of the API; the OpenAPI document is generated from these.

Field names follow Open311 GeoReport v2 where it has one (``service_code``, ``description``,
``lat``, ``long``, ``address_string``, ``requested_datetime``, ``service_request_id``,
``status``). Coordinates are WGS84/CGCS2000 lon/lat degrees; instants are ISO 8601 with an
offset (responses use the server's configured time zone, Asia/Shanghai by default).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.vocabulary import ACTOR_KINDS, SATISFACTION, SOURCES, URGENCIES
from domain.workflow.rules import Action, State
from domain.workflow.survey import DEFAULT_SURVEY_CHANNEL, SURVEY_CHANNELS, SURVEY_COMMENT_MAX

MAX_POSITIONS = 1000
"""Most worker fixes accepted in one POST /positions (larger batches: split them)."""
MAX_PAGE = 500
"""Largest page of GET /tickets; a larger ``limit`` is clamped and the response says so."""
DEFAULT_PAGE = 100
BIGINT_MAX = 2**63 - 1


def _clean_text(value: str) -> str:
    # PostgreSQL text refuses NUL; lone surrogates cannot be encoded as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def text(max_length: int, min_length: int = 0):
    """A UTF-8 string type without NUL, of bounded length."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_clean_text),
    ]


Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Lat = Annotated[float, Field(ge=-90, le=90, description="Latitude, WGS84 degrees.")]
Lon = Annotated[float, Field(ge=-180, le=180, description="Longitude, WGS84 degrees.")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,32}$")]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2})?$")]

Source = Literal[SOURCES]  # type: ignore[valid-type]
Urgency = Literal[URGENCIES]  # type: ignore[valid-type]
ActorKind = Literal[ACTOR_KINDS]  # type: ignore[valid-type]
Satisfaction = Literal[SATISFACTION]  # type: ignore[valid-type]
SurveyChannel = Literal[SURVEY_CHANNELS]  # type: ignore[valid-type]
ActionName = Literal[tuple(a.value for a in Action)]  # type: ignore[valid-type]
StateName = Literal[tuple(s.value for s in State)]  # type: ignore[valid-type]

_REQUEST = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class TicketCreate(BaseModel):
    """A new ticket (POST /api/v1/tickets). The point must lie in the token's jurisdiction (its
    grids) and, when ``grid_code`` is given, in that grid, each give or take the tolerance
    (setting ``point_tolerance_m``, 50 m by default); else 422 naming ``lat/long`` or
    ``grid_code``. Without ``grid_code`` the grid covering the point is used, or the nearest
    one within the tolerance."""

    model_config = _REQUEST

    service_code: CategoryCode = Field(
        description="Category of the item list (GET /api/v1/services), 'CC' or 'CCSS'."
    )
    lat: Lat
    long: Lon
    description: text(4000) | None = Field(None, description="What was seen or reported.")
    address_string: text(500) | None = Field(None, description="Human-readable location.")
    requested_datetime: AwareDatetime | None = Field(
        None,
        description="When the problem was reported (default: now). At most 366 days ago "
        "and not in the future.",
    )
    grid_code: Code | None = Field(
        None, description="The grid (15 digits by default); found from lat/long when absent."
    )
    urgency: Urgency = Field("normal", description="'urgent' runs the urgent stage limits.")
    source: Source = Field(
        "app",
        description="Channel. 'patrol' tickets start 'discovered' (T1 report clock); "
        "all others start 'reported' (T2 accept clock).",
    )
    external_id: text(128, 1) | None = Field(
        None,
        description="Your id for this report: the same external_id twice creates one "
        "ticket (namespace 'api', shared by all tokens).",
    )


class TransitionCreate(BaseModel):
    """One step of the closed loop (POST /api/v1/tickets/{id}/transitions)."""

    model_config = _REQUEST

    action: ActionName = Field(description="The action; see the state table in the docs.")
    actor_kind: ActorKind = "centre"
    actor_id: Id | None = Field(
        None,
        description="Staff id of the actor, when known: active staff of the token's "
        "jurisdiction (by region or a grid assignment valid now), else 422.",
    )
    at: AwareDatetime | None = Field(
        None,
        description="When it happened (default: now); not before the ticket was created "
        "and not in the future.",
    )
    comment: text(SURVEY_COMMENT_MAX) | None = Field(
        None,
        description="Free text kept with the step; on a survey, the party's comment (recorded"
        f" with the survey, at most {SURVEY_COMMENT_MAX} characters).",
    )
    department_id: Id | None = Field(None, description="dispatch: the lead department.")
    assist_department_ids: list[Id] = Field(
        default_factory=list, max_length=20, description="dispatch: assisting departments."
    )
    new_due_at: AwareDatetime | None = Field(
        None, description="approve_extension: the new handling due time."
    )
    satisfaction: Satisfaction | None = Field(None, description="survey: the party's answer.")
    channel: SurveyChannel | None = Field(
        None,
        description=f"survey: how the party was asked ({', '.join(SURVEY_CHANNELS)}; default"
        f" '{DEFAULT_SURVEY_CHANNEL}'). A ticket is surveyed once: the same survey sent again is"
        " answered as applied, a different one is 409.",
    )
    override: bool = Field(False, description="Lead feedback before the assisting tasks.")


class Position(BaseModel):
    """One GPS fix of a grid worker."""

    model_config = _REQUEST

    staff_id: Id
    at: AwareDatetime = Field(description="Fix time; within the last 30 days, not in the future.")
    lat: Lat
    long: Lon


class PositionBatch(BaseModel):
    """A batch of worker fixes (POST /api/v1/positions), at most MAX_POSITIONS."""

    model_config = _REQUEST

    positions: list[Position] = Field(min_length=1, max_length=MAX_POSITIONS)
    on_duty: bool = Field(True, description="Whether these workers are on duty.")


class TicketQuery(BaseModel):
    """Query parameters of GET /api/v1/tickets (all optional)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    grid_code: Code | None = Field(
        None,
        description="Grid code or region code prefix; must lie inside the token's jurisdiction.",
    )
    service_code: CategoryCode | None = Field(
        None, description="Category; a major code 'CC' also matches its minors 'CCxx'."
    )
    state: text(400) | None = Field(None, description="Comma-separated workflow states.")
    status: Literal["open", "closed"] | None = Field(
        None, description="Open311 status: open, or closed (closed, surveyed, rejected)."
    )
    overdue: bool | None = Field(
        None, description="true: open, not suspended and past the stage due time now."
    )
    closed_late: bool | None = Field(
        None,
        description="true: closed after the original due time (closed_on_time false). "
        "false: every other ticket (open ones included).",
    )
    on_time: bool | None = Field(
        None,
        description="true: closed by the original due time (closed_on_time true). "
        "false: every other ticket (open ones and late closures).",
    )
    start_date: AwareDatetime | None = Field(None, description="Created at or after.")
    end_date: AwareDatetime | None = Field(None, description="Created before.")
    limit: int = Field(
        DEFAULT_PAGE,
        ge=1,
        le=BIGINT_MAX,
        description=f"Page size; at most {MAX_PAGE} (larger values are clamped).",
    )
    cursor: text(200) | None = Field(None, description="next_cursor of the previous page.")


# ---- responses ------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    status: int
    message: str
    fields: list[FieldProblem]


class Error(BaseModel):
    """Every 4xx/5xx response."""

    error: ErrorBody


class TicketCreated(BaseModel):
    """The created (201) or already existing (200, same external_id) ticket."""

    service_request_id: str = Field(description="Open311 id: the ticket number.")
    id: int
    ticket_no: str
    state: StateName
    grid_code: str
    micro_grid_code: str | None
    requested_datetime: str
    created: bool = Field(
        description="false when an earlier request with the same external_id created it."
    )


class TicketSummary(BaseModel):
    """A ticket in a list (no address or description; the exact point by the token's tier)."""

    id: int
    service_request_id: str
    external_id: str | None
    service_code: str
    urgency: Urgency
    source: Source
    state: StateName
    status: Literal["open", "closed"]
    stage: str | None = Field(description="Running timer T1–T7, if any.")
    grid_code: str
    requested_datetime: str
    updated_datetime: str
    stage_due_at: str | None
    due_at: str | None = Field(description="Handling (T5) due time once dispatched.")
    overdue: bool
    closed_on_time: bool | None = Field(
        description="Closed by the original due time (extensions do not move it); "
        "null until the ticket closes."
    )
    closed_late: bool = Field(description="Closed after the original due time.")
    source_type: str | None = Field(
        description="The source system's own type of an imported ticket (Boston TYPE, "
        "Open311 service_name); null for tickets born in gridscope."
    )
    source_reason: str | None = Field(
        description="The source system's own reason (Boston REASON), or null."
    )
    lat: float | None = Field(
        description="WGS84 degrees; null when the token's role may not see exact points "
        "(below tier L3; special populations and disputes below L4)."
    )
    long: float | None = Field(description="WGS84 degrees; null like lat.")


class TimelineEvent(BaseModel):
    at: str
    action: str
    from_state: str | None
    to_state: str | None
    actor_kind: str
    actor_id: int | None
    task_id: int | None
    comment: str | None = Field(description="Null below tier L3 (free text).")
    data: dict[str, Any] | None


class Task(BaseModel):
    id: int
    department_id: int
    department_name: str
    role: Literal["lead", "assist"]
    state: str
    dispatched_at: str
    sign_due_at: str | None
    signed_at: str | None
    due_at: str | None
    finished_at: str | None
    on_time: bool | None


class TicketDetail(TicketSummary):
    """One ticket with its department tasks and its timeline (the event log)."""

    micro_grid_code: str | None
    address_string: str | None = Field(
        description="Cut to road level when the token's role is below tier L3."
    )
    description: str | None = Field(
        description="Null when the token's role is below tier L3 (it may hold personal data)."
    )
    stage_started_at: str | None
    stage_warn_at: str | None
    original_due_at: str | None
    reported_at: str | None
    finished_at: str | None
    closed_at: str | None
    self_resolved: bool
    rework_count: int
    return_count: int
    extension_count: int
    escalated: bool
    supervision: int
    satisfaction: str | None
    allowed_actions: list[str] = Field(description="Actions the rules allow from the state.")
    tasks: list[Task]
    timeline: list[TimelineEvent]


class Paging(BaseModel):
    limit: int = Field(description="The page size used.")
    requested_limit: int
    clamped: bool = Field(description=f"true when the requested limit exceeded {MAX_PAGE}.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


class TicketPage(BaseModel):
    tickets: list[TicketSummary]
    paging: Paging
    notice: str | None = Field(description="Set when the request was adjusted (clamped limit).")


class TransitionResult(BaseModel):
    id: int
    state: StateName
    stage: str | None
    allowed_actions: list[str]
    task_id: int | None = Field(
        None, description="Set when an assisting department's step moved only its task."
    )
    task_state: str | None = None


class PositionsResult(BaseModel):
    stored: int
    max_batch: int


class Service(BaseModel):
    """A category of the item list as an Open311 service."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str
    name_en: str
    parent_code: str | None
