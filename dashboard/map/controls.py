"""The control panel: per layer a toggle, its legend and (on the analyst map) its selectors.

Selectors are built from the layer's LayerOption allowlists, as the option's ``control`` says:
a radio group, a searchable drop-down, or a date range (one DatePickerRange for the layer's
``date_start`` and ``date_end`` options). On the wall the radio groups are rendered hidden so
that every map has the same callbacks and the profile's defaults apply; its drop-downs and date
ranges are left out (no callback reads them there). Under the selectors, a line where the map
says why it refused a choice (layers.base.OptionError).
"""

from __future__ import annotations

from dash import dcc, html

from layers.base import LayerOption, LayerSpec

from . import ids
from .profiles import MapProfile


def shown_data_options(layer: LayerSpec) -> tuple[LayerOption, ...]:
    """The data options the map offers a control for (with choices, or a date range end), in
    declaration order: the inputs of the layer's fetch."""
    return tuple(o for o in layer.data_options if o.choices or o.control.startswith("date_"))


def option_input(profile: MapProfile, layer: LayerSpec, opt: LayerOption) -> tuple[str, str]:
    """(component id, property) holding ``opt``'s value on the map."""
    if opt.control == "date_start":
        return ids.period(profile.prefix, layer.id), "start_date"
    if opt.control == "date_end":
        return ids.period(profile.prefix, layer.id), "end_date"
    return ids.option(profile.prefix, layer.id, opt.name), "value"


def _row(label: str, help_zh: str, control, kind: str, name: str) -> html.Div:
    return html.Div(
        [html.Span(label, className="gs-opt-label", title=help_zh or None), control],
        className=f"gs-opt gs-opt--{kind}",
        **{"data-option": name},
    )


def option_control(profile: MapProfile, layer: LayerSpec, opt: LayerOption, kind: str):
    """A radio group or drop-down for one option (kind 'data' or 'style')."""
    oid = ids.option(profile.prefix, layer.id, opt.name)
    choices = [{"label": label, "value": value} for value, label in opt.choices]
    if opt.control == "dropdown":
        control = dcc.Dropdown(
            id=oid,
            options=choices,
            value=profile.default(layer, opt.name),
            clearable=False,
            searchable=True,
            placeholder="输入名称或代码搜索",
            className="gs-dropdown",
        )
    else:
        control = dcc.RadioItems(
            id=oid,
            options=choices,
            value=profile.default(layer, opt.name),
            inline=True,
            className="gs-seg",
            inputClassName="gs-seg-input",
            labelClassName="gs-seg-item",
        )
    return _row(opt.label_zh, opt.help_zh, control, kind, opt.name)


def period_control(profile: MapProfile, layer: LayerSpec, start: LayerOption, end: LayerOption):
    """The layer's date range: local days, both ends included, typed or picked (YYYY-MM-DD)."""
    picker = dcc.DatePickerRange(
        id=ids.period(profile.prefix, layer.id),
        start_date=profile.default(layer, start.name) or None,
        end_date=profile.default(layer, end.name) or None,
        display_format="YYYY-MM-DD",
        month_format="MMMM",
        first_day_of_week=1,
        start_date_placeholder_text=start.label_zh,
        end_date_placeholder_text=end.label_zh,
        minimum_nights=0,
        clearable=True,
        updatemode="bothdates",
        number_of_months_shown=1,
        className="gs-period",
    )
    return _row("日期", f"{start.help_zh}；{end.help_zh}", picker, "data", "period")


def data_controls(profile: MapProfile, layer: LayerSpec) -> list:
    """The controls of the layer's shown data options; the date range once, where its start
    is declared. A map fed by the wall's feeds gets the radio groups only (the map's shared
    callbacks read the level): no callback reads its drop-downs or date range there, and
    leaving them out spares the wall their scripts."""
    out: list = []
    by_control = {o.control: o for o in layer.data_options}
    for opt in shown_data_options(layer):
        if profile.feed and opt.control != "radio":
            continue
        if opt.control == "date_start":
            out.append(period_control(profile, layer, opt, by_control["date_end"]))
        elif opt.control != "date_end":
            out.append(option_control(profile, layer, opt, "data"))
    return out


def layer_panel(profile: MapProfile, layer: LayerSpec) -> html.Section:
    """Toggle + legend + selectors of one layer."""
    p = profile.prefix
    options = data_controls(profile, layer)
    options += [option_control(profile, layer, o, "style") for o in layer.style_options]
    if not profile.feed:  # the fetch callback says here why it refused a choice
        options.append(
            html.Div(id=ids.error(p, layer.id), className="gs-layer-error", role="alert")
        )
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
