"""Situation analytics for leadership (/analytics, 态势分析): every measure with 环比/同比 and a
12-period series, rankings at every level, the category structure, hotspots and recurring
problems, rhythm, satisfaction and patrol, and the monthly report (dashboard.analytics)."""

import dash

from dashboard.analytics import callbacks  # noqa: F401  (register callbacks)
from dashboard.analytics.layout import page
from dashboard.forbidden import forbidden_notice
from queries import services

dash.register_page(__name__, path="/analytics", title="态势分析", name="态势分析")


def layout(**_query: str):
    """The page for viewers who may open it; the area and period are read from the URL by the
    page's callbacks, inside the viewer's jurisdiction."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/analytics"):
        return forbidden_notice()
    return page(svc)
