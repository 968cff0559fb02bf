"""Component ids of /analytics. Every id starts with "sit-" so the access guard routes the
page's callbacks to /analytics (gridscope/auth/callbacks.py)."""

URL = "sit-url"
STATE = "sit-state"
SCALE = "sit-scale"
AREA = "sit-area"
KIND = "sit-kind"
PERIOD = "sit-period"
CUSTOM = "sit-custom"
LABEL = "sit-label"
PROBLEMS = "sit-problems"
REPORT_PDF = "sit-report-pdf"
REPORT_XLSX = "sit-report-xlsx"


def panel(name: str) -> str:
    return f"sit-panel-{name}"


def tools(name: str) -> str:
    return f"sit-tools-{name}"


def section(name: str) -> str:
    return f"sit-section-{name}"
