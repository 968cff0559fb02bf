"""The demo city: a deterministic, realistic territory, staff and a year of tickets."""
