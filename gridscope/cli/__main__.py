"""`python -m gridscope.cli` (used by bench/api.py to start the server)."""

from gridscope.cli import main

main()
