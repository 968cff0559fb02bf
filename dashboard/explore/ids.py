"""Component ids of /explore (prefix ``exp-``, owned by the page in
gridscope.auth.callbacks.COMPONENT_PAGES). Pattern ids carry their kind in "type"."""

URL = "exp-url"
PROBLEMS = "exp-problems"
SIDE = "exp-side"
MAIN_HEAD = "exp-head"
CHIPS = "exp-chips"
KPIS = "exp-kpis"
MAP = "exp-map"
UNITS = "exp-units"
POINTS = "exp-points"
DRAW = "exp-draw"
SERIES = "exp-series"
CATS = "exp-cats"
PATTERN = "exp-pattern"
TABLE_WRAP = "exp-table-wrap"
TABLE = "exp-table"
TABLE_NOTE = "exp-table-note"
DRAWER = "exp-drawer"
AREA_SEARCH = "exp-area-search"
DATES = "exp-dates"
BASIS = "exp-basis"
RESET = "exp-reset"
VIEWS = "exp-views"
VIEW_NAME = "exp-view-name"
VIEW_SAVE = "exp-view-save"
VIEW_DELETE = "exp-view-delete"
VIEW_NOTE = "exp-view-note"
EXPORT_CSV = "exp-export-csv"
EXPORT_XLSX = "exp-export-xlsx"
EXPORT_JOB = "exp-export-job"
EXPORT_POLL = "exp-export-poll"
EXPORT_STATUS = "exp-export-status"
SHARE = "exp-share"

# Pattern-matching kinds.
FACET = "exp-facet"  # {"type", "dim", "value"}: toggles a value of a multi-valued filter
CHIP = "exp-chip"  # {"type", "dim", "value"}: removes an active filter
PERIOD = "exp-period"  # {"type", "value"}: a quick period
UNIT = "exp-unit"  # {"type", "code"}: narrows the area (breadcrumbs, children list)
CLOSE = "exp-close"  # {"type", "what"}: closes the drawer

# Re-rendered parts of the sidebar.
CRUMBS = "exp-crumbs"
CHILDREN = "exp-children"
PERIODS = "exp-periods"
FACETS = "exp-facets"
SCALE = "exp-scale"  # the page's root font size over 16 px (plotly and AG Grid use pixels)
LEGEND = "exp-legend"
GRIDS = "exp-grids"  # the grids in view when zoomed in (callbacks.zoom_cb)
