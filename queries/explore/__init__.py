"""The analyst workbench's SQL (/explore): one WHERE clause built from the filter state and
the caller's scope (``where``), the counts, facets and series of one filter state in one
statement (``summary``), a page of the ticket table (``table``), one ticket's drawer
(``drawer``), reference lists for the filter controls (``reference``), saved views (``views``)
and the streamed export rows (``export``)."""
