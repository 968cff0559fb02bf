"""Component ids of a map, all derived from the profile prefix and the layer id."""

from __future__ import annotations


def map_(p: str) -> str:
    return f"{p}-map"


def layer(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}"


def store(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-payload"


def view(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-view"


def meta(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-meta"


def tick(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-tick"


def toggle(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-on"


def legend(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-legend"


def option(p: str, layer_id: str, name: str) -> str:
    return f"{p}-layer-{layer_id}-opt-{name}"


def card(p: str) -> str:
    return f"{p}-card"


def card_close(p: str) -> str:
    return f"{p}-card-close"


def reset(p: str) -> str:
    return f"{p}-reset"


def detail(p: str, layer_id: str) -> str:
    return f"{p}-layer-{layer_id}-detail"


def period(p: str, layer_id: str) -> str:
    """The layer's date range (one DatePickerRange holds its date_start and date_end options)."""
    return f"{p}-layer-{layer_id}-period"


def error(p: str, layer_id: str) -> str:
    """Where the map says why it refused the layer's options (layers.base.OptionError)."""
    return f"{p}-layer-{layer_id}-error"


def asof(p: str) -> str:
    """The date the map's boundaries are drawn as of (a DatePickerSingle; empty: now)."""
    return f"{p}-asof"


def asof_badge(p: str) -> str:
    """The badge naming the boundary version shown (边界版本：当前 / 2025-06-30)."""
    return f"{p}-asof-badge"
