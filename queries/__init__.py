"""Data access: every SQL statement of gridscope lives in this package.

Each query function takes the caller's jurisdiction :class:`queries.scope.Scope`, binds every
value as a parameter and says in its docstring what it returns (CRS, units, time zone).
"""
