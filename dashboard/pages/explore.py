"""The analyst workbench (/explore, 事件分析): filter tickets by area, category, period, state
and clock; facets, linked map, charts, ticket table and drawer; shareable URLs, saved views and
exports (dashboard.explore)."""

import dash

from dashboard.explore import actions, callbacks, mapzoom  # noqa: F401  (register callbacks)
from dashboard.explore.layout import page
from dashboard.forbidden import forbidden_notice
from queries import services

dash.register_page(__name__, path="/explore", title="事件分析", name="事件分析")


def layout(**_query: str):
    """The workbench for viewers who may open it; the query string is read by the page's
    callbacks from the URL (dcc.Location), inside the viewer's jurisdiction."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/explore"):
        return forbidden_notice()
    if svc.explore_columns is not None:
        svc.explore_columns.warm(svc.read_pool, svc.clock.now())
    return page(svc)
