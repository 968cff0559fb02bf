"""Which page a Dash callback belongs to, read from its output component ids, so the access
gate can refuse a callback of a page the caller may not open (a forged POST to
/_dash-update-component names any output it likes).

Component ids are namespaced by page: ``COMPONENT_PAGES`` maps each id prefix to its page.
A test walks every registered callback and fails when an output id has no page here.
"""

from __future__ import annotations

import json
from typing import Any

import flask

# Longest prefix first wins. None = page-independent plumbing (Dash's page router).
COMPONENT_PAGES: dict[str, str | None] = {
    "_pages_": None,  # dash.page_container: the router renders pages through their layout()
    "gs-": "/screen",  # the wall's ribbon, panels, ticker, clock
    "scr-": "/screen",  # the wall's map
    "ana-": "/map",  # the analyst map
    "exp-": "/explore",  # the analyst workbench
    "sit-": "/analytics",  # leadership analytics (态势分析)
    "home-": "/",
    "adm-users-": "/admin/users",
    "adm-walls-": "/admin/walls",
    "adm-audit-": "/admin/audit",
    "adm-data-": "/admin/data",
    "adm-items-": "/admin/items",
    "adm-cal-": "/admin/calendar",
}
_PREFIXES = sorted(COMPONENT_PAGES, key=len, reverse=True)


def page_of(component_id: Any) -> str | None | bool:
    """The page path owning ``component_id``; None for page-independent plumbing; False for
    an id no page owns (the request is refused)."""
    if isinstance(component_id, dict):  # pattern-matching ids carry their page in "type"
        component_id = component_id.get("type")
    if not isinstance(component_id, str):
        return False
    for prefix in _PREFIXES:
        if component_id.startswith(prefix):
            return COMPONENT_PAGES[prefix]
    return False


def output_ids(output: str) -> list[Any]:
    """Component ids named in a callback's ``output`` string ("id.prop" or
    "..id1.prop1...id2.prop2.."); pattern-matching ids are JSON objects."""
    text = output.strip(".") if output.startswith("..") else output
    parts = text.split("...") if output.startswith("..") else [text]
    ids: list[Any] = []
    for part in parts:
        ident = part.rsplit(".", 1)[0]
        if ident.startswith("{"):
            try:
                ids.append(json.loads(ident))
            except ValueError:
                ids.append(None)
        else:
            ids.append(ident)
    return ids


def callback_body() -> Any:
    """The current request's JSON body; None when it is absent, not JSON or nested too deeply
    for the parser (100,000 ``[`` raise RecursionError, which ``silent`` does not catch). A body
    over the size limit raises RequestEntityTooLarge (413) while being read."""
    try:
        return flask.request.get_json(silent=True)
    except RecursionError:
        return None


def callback_pages() -> list[str | None] | None:
    """The pages the current callback request's outputs belong to; None when the body is not
    a well-formed callback request or names an output no page owns."""
    body = callback_body()
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return None
    pages: list[str | None] = []
    for ident in output_ids(body["output"]):
        page = page_of(ident)
        if page is False:
            return None
        pages.append(page)  # type: ignore[arg-type]
    return pages


def routed_path() -> str | None | bool:
    """The page path the router callback is asked to render (from ``_pages_location``'s
    pathname input): a PAGES path, None for any other path (Dash answers it with its 404
    page), False when the pathname is missing or not a string."""
    from domain.access import PAGE_PATHS

    body = callback_body()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return False
    for item in inputs:
        if (
            isinstance(item, dict)
            and item.get("id") == "_pages_location"
            and item.get("property") == "pathname"
        ):
            value = item.get("value")
            if not isinstance(value, str):
                return False
            path = value.rstrip("/") or "/"
            return path if path in PAGE_PATHS else None
    return False
