"""The control panel: per layer a toggle, its legend and (on the analyst map) its selectors.

Selectors are radio groups built from the layer's LayerOption allowlists; on the wall they are
rendered hidden so that every map has the same callbacks and the profile's defaults apply.
"""

from __future__ import annotations

from dash import dcc, html

from layers.base import LayerOption, LayerSpec

from . import ids
from .profiles import MapProfile


def option_control(profile: MapProfile, layer: LayerSpec, opt: LayerOption, kind: str):
    """A radio group for one option (kind 'data' or 'style')."""
    return html.Div(
        [
            html.Span(opt.label_zh, className="gs-opt-label", title=opt.help_zh or None),
            dcc.RadioItems(
                id=ids.option(profile.prefix, layer.id, opt.name),
                options=[{"label": label, "value": value} for value, label in opt.choices],
                value=profile.default(layer, opt.name),
                inline=True,
                className="gs-seg",
                inputClassName="gs-seg-input",
                labelClassName="gs-seg-item",
            ),
        ],
        className=f"gs-opt gs-opt--{kind}",
        **{"data-option": opt.name},
    )


def layer_panel(profile: MapProfile, layer: LayerSpec) -> html.Section:
    """Toggle + legend + selectors of one layer."""
    p = profile.prefix
    options = [option_control(profile, layer, o, "data") for o in layer.data_options if o.choices]
    options += [option_control(profile, layer, o, "style") for o in layer.style_options]
    extra = []
    if profile.feed:  # the wall's JS shows the as-of of the layer's feed (assets/30_wall.js)
        extra.append(
            html.Span(className="gs-asof gs-layer-asof", **{"data-feed": f"layer-{layer.id}"})
        )
    if layer.extra.get("primary"):
        extra.append(
            html.Button(
                "全域",
                id=ids.reset(p),
                className="gs-reset",
                title="回到全辖区，层级自动",
            )
        )
    return html.Section(
        [
            html.Header(
                [
                    dcc.Checklist(
                        id=ids.toggle(p, layer.id),
                        options=[{"label": layer.title_zh, "value": "on"}],
                        value=["on"] if layer.default_visible else [],
                        className="gs-layer-toggle",
                        inputClassName="gs-layer-toggle-input",
                    ),
                    *extra,
                ],
                className="gs-layer-head",
            ),
            html.Div(
                options,
                className="gs-layer-options",
                hidden=not profile.show_options,
            ),
            html.Div(id=ids.legend(p, layer.id), className="gs-layer-legend"),
        ],
        className=f"gs-layer gs-layer--{layer.id}",
        **{"data-layer": layer.id},
    )
