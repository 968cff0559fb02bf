"""The analyst workbench (/explore, 事件分析): filters in the URL, facets, linked map, charts,
ticket table and drawer, saved views and exports. Pages and callbacks are thin; the filter
state is ``domain.explore.filters``, the SQL is ``queries.explore``."""
