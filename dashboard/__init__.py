"""The Dash user interface: pages, layout pieces and callbacks grouped by feature."""
