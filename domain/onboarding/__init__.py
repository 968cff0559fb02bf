"""The onboarding files of a town (issue #13): the columns of the staff, department,
micro-grid and item-list files (``columns``) and their xlsx templates (``templates``)."""
