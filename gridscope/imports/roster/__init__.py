"""`gridscope import staff|departments FILE`: the people and departments of a town from a CSV
or xlsx file laid out as the templates (``gridscope import template``, columns declared once in
``domain.onboarding.columns``); docs/imports-roster.md.

Modules: ``values`` reads cells (mobiles, dates, roles, kinds, levels, code lists);
``staff_rows`` checks the rows of a staff file and groups them into people; ``staff_plan``
works out which staff rows and assignments change (assignments keep their history);
``department_rows`` checks and plans a department file (tree, cycles, lead/assist duties);
``staff`` and ``departments`` are the two runs; ``run`` what they share (the transaction with
its import run and audit event, the data version); ``report`` the reasons, the rejects file
and the printed summary. Every SQL statement is in ``queries.roster``.
"""

from .departments import import_departments
from .report import REASONS, RosterReport, format_report
from .staff import import_staff

__all__ = ["REASONS", "RosterReport", "format_report", "import_departments", "import_staff"]
