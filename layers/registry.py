"""Every map layer, one line each. Adding a layer = one module in layers/ + one line here."""

from __future__ import annotations

from .base import LayerSpec

LAYERS: tuple[LayerSpec, ...] = ()


def get(layer_id: str) -> LayerSpec:
    """The registered layer ``layer_id``; KeyError names the known layers."""
    for layer in LAYERS:
        if layer.id == layer_id:
            return layer
    raise KeyError(f"unknown layer {layer_id!r}; known: {', '.join(x.id for x in LAYERS)}")
