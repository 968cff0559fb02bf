"""The command-centre big screen (`/screen`): its layout and the display data of its panels,
one module per panel.

Builders (``kpi_cards``, ``category_rows``, ``ranking_view``, ``basic_view``, ``ticker_view``,
``trend_view``) turn the codes and counts of ``queries.screen`` into display-ready data (names,
formatted numbers, widths); dashboard/feeds.py serves it and the wall's JS
(assets/29_wall_panels.js) draws it. No server callback refreshes the screen.
"""
