"""Browser values of the map callbacks, checked before anything uses them: a forged callback
may send any JSON for any input (issue #9: a string, a number or ``{"properties": "x"}`` as
``clickData`` reached a 500). Each parser returns a well-formed value or the empty one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A unit code (region, grid, micro-grid) as the permissive code rule allows it.
_CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")


def click_properties(clicked: Any) -> Mapping[str, Any]:
    """The ``properties`` of a dash-leaflet ``clickData`` feature; {} for anything else."""
    if not isinstance(clicked, Mapping):
        return {}
    props = clicked.get("properties")
    return props if isinstance(props, Mapping) else {}


def click_code(clicked: Any) -> str | None:
    """The unit code a click names (``properties.code``), or None when it is not a code."""
    code = click_properties(clicked).get("code")
    return code if isinstance(code, str) and _CODE.fullmatch(code) else None


def click_id(clicked: Any) -> int | str | None:
    """The feature id a click names (``properties.id``: an int or a string), or None. The
    layer's detail function checks it further."""
    value = click_properties(clicked).get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and len(value) > 32:
        return None
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A view or options store's value as a dict; {} for anything that is not a mapping."""
    return dict(value) if isinstance(value, Mapping) else {}
