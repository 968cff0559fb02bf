"""The monthly situation report (月度运行分析报告): the leadership page's data (collect(), the
same compute() functions as /analytics) as an A4 PDF and an xlsx workbook.

    data  = collect(conn, query)                     # queries.analytics.collect
    paths = write_report(data, ("pdf", "xlsx"), out_dir, org=settings.title, tier=Tier.L3)

Used by ``gridscope report`` (gridscope/cli/report.py) and the page's download
(dashboard/analytics/report_route.py). Modules: ``narrative`` (the generated summary),
``charts`` (inline SVG), ``tables`` (masking, HTML tables), ``html`` + ``style`` (the document),
``pdf`` (headless Chromium), ``xlsx`` (the workbook), ``build`` (formats, file names, writing).
"""

from .build import FORMATS, ReportError, file_name, parse_formats, write_report

__all__ = ["FORMATS", "ReportError", "file_name", "parse_formats", "write_report"]
