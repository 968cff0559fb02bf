"""gridscope: command-centre GIS dashboard for grid-based service management."""

__version__ = "0.1.0"
