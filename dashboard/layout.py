"""The root layout shared by every page."""

import dash
from dash import html


def root_layout() -> html.Div:
    """The page container inside a root element the stylesheets address."""
    return html.Div(dash.page_container, id="gs-root", className="gs-root")
