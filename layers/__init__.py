"""Map layers: one module per layer, listed once in ``layers.registry.LAYERS``.

The registry is the list of what the map publishes: nothing reaches a browser unless a layer
declares it (STYLE.md: "the layer registry is the list of what is shown").
"""
