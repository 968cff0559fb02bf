"""The closed loop (DOMAIN.md §4): states, transitions and their rules."""
