"""Column mappings for file imports, loaded from TOML and checked strictly.

A *ticket mapping* says which CSV columns hold which ticket fields, how dates are written and in
which time zone, how the file's categories, statuses and sources translate into ours, and the
namespace of the external ids (``ticket_external``: a re-run loads nothing twice). Shipped
mappings live in ``gridscope/imports/mappings/<name>.toml`` and are chosen by name; any other
mapping is a path. The source system's own classification (``source_type``,
``source_reason``: Boston's TYPE and REASON, Open311's ``service_name``) is stored as it is,
next to the category the rules produce. A *grid mapping* (``[grids]`` table) names the
attribute fields of a grid file; command-line options override it. Unknown keys are an error,
as in the settings.

The shipped ``boston311.toml`` is the fully commented example of every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.vocabulary import SOURCES, URGENCIES
from domain.workflow.rules import OPEN_STATES, STAGE_OF_STATE, State

from .errors import ImportRefused

MAPPINGS_DIR = Path(__file__).parent / "mappings"

TICKET_FIELDS = (
    "external_id",
    "created_at",
    "due_at",
    "closed_at",
    "lat",
    "lon",
    "address",
    "description",
    # The source system's own classification, kept as imported (ticket.source_type/_reason);
    # the category rules below decide category_code whatever these columns say.
    "source_type",
    "source_reason",
)
REQUIRED_FIELDS = ("external_id", "created_at", "lat", "lon")
DATE_FIELDS = ("created_at", "due_at", "closed_at")
ISO8601 = "ISO8601"
# A closing time this many seconds before the open time is read as clock skew between the
# source's systems (accepted, flagged); further apart, the row is rejected. Boston 2015 has 191
# rows closed 1–58 s before they opened.
DEFAULT_CLOCK_SKEW_S = 300
MAX_CLOCK_SKEW_S = 3600


class MappingError(ImportRefused):
    """A mapping file that cannot be used (the message names the file and the key)."""


@dataclass(frozen=True)
class CategoryRule:
    """Source columns looked up in order; the first value with an entry wins, else default."""

    columns: tuple[str, ...]
    values: dict[str, dict[str, str]]
    default: str | None
    passthrough: bool


@dataclass(frozen=True)
class StateRule:
    """The file's status column: which values mean closed and which open."""

    column: str | None
    closed: frozenset[str]
    open: frozenset[str]
    open_state: State


@dataclass(frozen=True)
class ValueRule:
    """A source column translated through a table, with a default for other values."""

    column: str | None
    values: dict[str, str]
    default: str


@dataclass(frozen=True)
class TicketMapping:
    """A parsed, checked ticket column mapping."""

    name: str
    namespace: str
    path: Path
    encoding: str
    delimiter: str
    columns: dict[str, str]
    date_format: str
    timezone: str
    category: CategoryRule
    state: StateRule
    source: ValueRule
    urgency: ValueRule
    placeholder_points: tuple[tuple[float, float], ...] = ()
    description: str = ""
    clock_skew_tolerance_s: float = DEFAULT_CLOCK_SKEW_S

    def source_columns(self) -> list[str]:
        """Every CSV column the mapping reads (the file must have them all)."""
        cols = list(self.columns.values()) + list(self.category.columns)
        for rule in (self.state, self.source, self.urgency):
            if rule.column:
                cols.append(rule.column)
        return list(dict.fromkeys(cols))

    def category_codes(self) -> set[str]:
        """Every category code the mapping can produce (must exist in ``category``)."""
        codes = {c for table in self.category.values.values() for c in table.values()}
        if self.category.default:
            codes.add(self.category.default)
        return codes


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped with gridscope."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def resolve_mapping(name_or_path: str) -> Path:
    """The file of a shipped mapping name or of a path; MappingError when neither exists."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.parent != Path("."):
        if not path.is_file():
            raise MappingError(f"mapping file {name_or_path} does not exist")
        return path
    shipped = MAPPINGS_DIR / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    if path.is_file():
        return path
    raise MappingError(
        f"unknown mapping {name_or_path!r}: shipped mappings are "
        f"{', '.join(shipped_mappings())}, or give the path of a .toml file"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path} is not valid TOML: {exc}") from None


class _Table:
    """Typed access to one TOML table that refuses keys it was not asked about."""

    def __init__(self, data: Any, where: str, path: Path):
        if not isinstance(data, dict):
            raise MappingError(f"{path}: [{where}] must be a table")
        self.data, self.where, self.path, self.used = data, where, path, set()

    def _err(self, key: str, message: str) -> MappingError:
        where = key if self.where == "top level" else f"{self.where}.{key}"
        return MappingError(f"{self.path}: {where} {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self._err(key, f"must be a {names}, got {value!r}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) for v in value):
            raise self._err(key, "must be a list of strings")
        return value

    def table(self, key: str) -> _Table:
        self.used.add(key)
        where = key if self.where == "top level" else f"{self.where}.{key}"
        return _Table(self.data.get(key, {}), where, self.path)

    def string_map(self, key: str) -> dict[str, str]:
        sub = self.table(key)
        for k, v in sub.data.items():
            if not isinstance(v, str):
                raise sub._err(k, f"must be a string, got {v!r}")
        return dict(sub.data)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            where = self.where if self.where == "top level" else f"[{self.where}]"
            raise MappingError(f"{self.path}: unknown key(s) in {where}: {', '.join(unknown)}")


def load_ticket_mapping(name_or_path: str) -> TicketMapping:
    """Load and check a ticket mapping (shipped name or path); MappingError otherwise."""
    path = resolve_mapping(name_or_path)
    root = _Table(_read_toml(path), "top level", path)
    name = root.get("name", str, path.stem)
    namespace = root.get("namespace", str, name)
    if not namespace:
        raise MappingError(f"{path}: namespace must not be empty")
    description = root.get("description", str, "")

    f = root.table("file")
    encoding = f.get("encoding", str, "utf-8")
    delimiter = f.get("delimiter", str, ",")
    f.done()
    if len(delimiter) != 1:
        raise MappingError(f"{path}: file.delimiter must be one character")
    try:
        "".encode(encoding)
    except LookupError:
        raise MappingError(f"{path}: file.encoding {encoding!r} is not a known encoding") from None

    c = root.table("columns")
    columns = {k: c.get(k, str) for k in TICKET_FIELDS if c.get(k, str)}
    c.done()
    missing = [k for k in REQUIRED_FIELDS if k not in columns]
    if missing:
        raise MappingError(f"{path}: [columns] must name {', '.join(missing)}")

    d = root.table("dates")
    date_format = d.get("format", str, ISO8601)
    timezone = d.get("timezone", str, "UTC")
    skew = d.get("clock_skew_tolerance_s", (int, float), DEFAULT_CLOCK_SKEW_S)
    d.done()
    if not 0 <= skew <= MAX_CLOCK_SKEW_S:
        raise MappingError(
            f"{path}: dates.clock_skew_tolerance_s must be between 0 and {MAX_CLOCK_SKEW_S}"
            f" seconds, got {skew!r}"
        )
    if date_format != ISO8601 and "%" not in date_format:
        raise MappingError(f"{path}: dates.format must be a strptime format or {ISO8601!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"{path}: dates.timezone {timezone!r} is not a known time zone"
        ) from None

    xy = root.table("coordinates")
    raw_points = xy.get("placeholder_points", list, [])
    xy.done()
    points = []
    for p in raw_points:
        if not (
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        ):
            raise MappingError(
                f"{path}: coordinates.placeholder_points must be [lon, lat] pairs, got {p!r}"
            )
        points.append((float(p[0]), float(p[1])))

    cat = root.table("category")
    cat_columns = tuple(cat.strings("columns"))
    cat_default = cat.get("default", str)
    passthrough = cat.get("passthrough", bool, False)
    vals = cat.table("values")
    cat_values = {col: vals.string_map(col) for col in list(vals.data)}
    vals.done()
    cat.done()
    if not cat_columns:
        raise MappingError(f"{path}: category.columns must name at least one column")
    extra = sorted(set(cat_values) - set(cat_columns))
    if extra:
        raise MappingError(
            f"{path}: [category.values] has tables for columns not in category.columns: "
            f"{', '.join(extra)}"
        )

    st = root.table("state")
    state_column = st.get("column", str)
    closed = frozenset(st.strings("closed"))
    opened = frozenset(st.strings("open"))
    open_state_name = st.get("open_state", str, State.IN_PROGRESS.value)
    st.done()
    try:
        open_state = State(open_state_name)
    except ValueError:
        raise MappingError(f"{path}: state.open_state {open_state_name!r} is not a state") from None
    if open_state not in OPEN_STATES or STAGE_OF_STATE[open_state] is None:
        raise MappingError(
            f"{path}: state.open_state must be an open state with a timed stage, "
            f"got {open_state_name!r}"
        )
    if state_column and not closed:
        raise MappingError(f"{path}: state.closed must list the status values meaning closed")
    if closed & opened:
        raise MappingError(
            f"{path}: state values both open and closed: {', '.join(sorted(closed & opened))}"
        )

    source = _value_rule(root.table("source"), SOURCES, "import", path)
    urgency = _value_rule(root.table("urgency"), URGENCIES, "normal", path)
    root.done()
    return TicketMapping(
        name=name,
        namespace=namespace,
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        columns=columns,
        date_format=date_format,
        timezone=timezone,
        category=CategoryRule(cat_columns, cat_values, cat_default, passthrough),
        state=StateRule(state_column, closed, opened, open_state),
        source=source,
        urgency=urgency,
        placeholder_points=tuple(points),
        description=description,
        clock_skew_tolerance_s=float(skew),
    )


def _value_rule(t: _Table, allowed: tuple[str, ...], default: str, path: Path) -> ValueRule:
    column = t.get("column", str)
    dflt = t.get("default", str, default)
    values = t.string_map("values")
    t.done()
    bad = sorted({v for v in [dflt, *values.values()] if v not in allowed})
    if bad:
        raise MappingError(
            f"{path}: [{t.where}] values must be one of {', '.join(allowed)}; got {', '.join(bad)}"
        )
    return ValueRule(column, values, dflt)


# ---------------------------------------------------------------------------------------------
# Grid field mappings
# ---------------------------------------------------------------------------------------------

GRID_KEYS = (
    "layer",
    "code_field",
    "code_prefix",
    "code_width",
    "name_field",
    "name_prefix",
    "community_field",
    "community",
    "type_field",
    "exclusive_kind_field",
    "grid_type",
    "households_field",
    "population_field",
    "code_rule",
    "crs",
    "gcj02",
    "min_area_m2",
)


@dataclass
class GridFieldMapping:
    """Which attribute of a grid file holds what (every value optional; CLI options win)."""

    values: dict[str, Any] = field(default_factory=dict)


def load_grid_mapping(path: str | Path) -> GridFieldMapping:
    """The ``[grids]`` table of a TOML file; MappingError on unknown keys or bad types."""
    p = Path(path)
    if not p.is_file():
        raise MappingError(f"mapping file {path} does not exist")
    root = _Table(_read_toml(p), "top level", p)
    g = root.table("grids")
    root.done()
    out: dict[str, Any] = {}
    for key in GRID_KEYS:
        kind: type | tuple[type, ...] = str
        if key == "code_width":
            kind = int
        elif key == "gcj02":
            kind = bool
        elif key == "min_area_m2":
            kind = (int, float)
        value = g.get(key, kind)
        if value is not None:
            out[key] = value
    g.done()
    return GridFieldMapping(out)
