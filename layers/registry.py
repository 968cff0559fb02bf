"""Every map layer, one line each. Adding a layer = one module in layers/ (defining ``LAYER``, a
``LayerSpec``) + one line in ``LAYER_MODULES``; the maps mount it with a toggle and a legend,
docs/layers.md must describe it (a unit test checks), in the order listed here (drawn bottom to
top)."""

from __future__ import annotations

from importlib import import_module

from .base import LayerSpec

LAYER_MODULES: tuple[str, ...] = (
    "grids",  # territory hierarchy shaded by a measure
    "heat",  # incident heat, aggregated in PostGIS to weighted points
    "overdue",  # open tickets in warning or overdue, clustered, by ladder step
    "workers",  # latest position per grid worker (Redis), grey when silent
)


def _spec_of(name: str) -> LayerSpec:
    """The module's ``LAYER``, or its only module-level LayerSpec."""
    module = import_module(f"{__package__}.{name}")
    spec = getattr(module, "LAYER", None)
    if spec is None:
        found = [v for v in vars(module).values() if isinstance(v, LayerSpec)]
        if len(found) != 1:
            raise TypeError(f"layers.{name} must define LAYER (one LayerSpec); found {found}")
        spec = found[0]
    if not isinstance(spec, LayerSpec):
        raise TypeError(f"layers.{name}.LAYER is not a LayerSpec")
    return spec


def _load() -> tuple[LayerSpec, ...]:
    layers = tuple(_spec_of(name) for name in LAYER_MODULES)
    ids = [layer.id for layer in layers]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate layer ids in the registry: {ids}")
    return layers


LAYERS: tuple[LayerSpec, ...] = _load()


def get(layer_id: str) -> LayerSpec:
    """The registered layer ``layer_id``; KeyError names the known layers."""
    for layer in LAYERS:
        if layer.id == layer_id:
            return layer
    raise KeyError(f"unknown layer {layer_id!r}; known: {', '.join(x.id for x in LAYERS)}")
