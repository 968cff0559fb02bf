"""The analyst workbench (/explore), pure: the filter state as it lives in the URL, the quick
periods, and a ticket's stage clocks rebuilt from its event log."""
