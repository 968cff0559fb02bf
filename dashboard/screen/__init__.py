"""The command-centre big screen (`/screen`): layout pieces and callbacks, one module per panel.

Builders (``render_*``, ``*_figure``, ``hideout``) are plain functions of the JSON payload built
by ``queries.screen``; ``callbacks.register()`` wires them to Dash and is called by the page.
"""
