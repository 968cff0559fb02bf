"""Leadership analytics (/analytics, gridscope report): measures with 环比/同比, rankings,
category structure, hotspots, rhythm, satisfaction and patrol, for one jurisdiction and period.

Every module here answers for a ``Query`` (query.py): the viewer's scope narrowed to the chosen
area, the period cut at the injected "now", and the settings that weigh and target measures.
"""
