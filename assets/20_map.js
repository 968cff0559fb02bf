/* gridscope map component (dashboard/map): dash-leaflet GeoJSON functions and clientside
 * callbacks, added to the window.gridscope namespace of 10_gridscope.js.
 * - unitStyle / unitHover / unitTooltip: the grid layer (choropleth from hideout.values);
 *   gridscope.painted keeps {code: value} of the features last drawn (one level at a time),
 *   null for "no data" (drawn with gridscope.hatch, a grey hatched canvas pattern).
 * - periodSync: the grid layer's date range and its window selector kept in step.
 * - layerFilter / layerStyle / pointMarker / heatPoint: defaults for registry layers.
 * - layerSource / composeLayer / mapView: clientside callbacks (see dashboard/map/callbacks.py).
 * No network access here: geometry is fetched by dash-leaflet from the URL the server gave. */
(function () {
  "use strict";
  var gs = window.gridscope;
  var LEVELS = ["county", "town", "community", "grid", "micro"];

  function noUpdate() { return window.dash_clientside.no_update; }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* Line widths follow the root font (16 px at 1080p, 32 px on 4K walls). */
  var scaleValue = null;
  function scale() {
    if (scaleValue === null) {
      var px = parseFloat(window.getComputedStyle(document.documentElement).fontSize);
      scaleValue = px > 0 ? px / 16 : 1;
    }
    return scaleValue;
  }
  window.addEventListener("resize", function () { scaleValue = null; });

  function el(type, props, children) {
    var p = Object.assign({}, props || {});
    if (children !== undefined) { p.children = children; }
    return { type: type, namespace: "dash_html_components", props: p };
  }

  function classOf(v, breaks) {
    var k = -1;
    for (var i = 0; i < breaks.length; i++) { if (v >= breaks[i]) { k = i; } }
    return k;
  }

  function fmtValue(v, h) {
    if (v === null || v === undefined) { return h.nodata_label || "无数据"; }
    if (h.percent) { return (100 * v).toFixed(1) + "%"; }
    return String(v) + (h.unit ? " " + h.unit : "");
  }

  /* The value of a feature, null for "no data": a null value always (a rate or density with
   * no denominator); a unit absent from the values is "no data" for rates (h.missing ===
   * "nodata", which the server leaves out to keep the payload small) and 0 for counts. */
  function unitValue(feature, h) {
    var code = feature && feature.properties ? feature.properties.code : null;
    var v = h.values && code != null ? h.values[code] : undefined;
    if (v === null) { return null; }
    if (v === undefined) { return h.missing === "nodata" ? null : 0; }
    return v;
  }

  /* "No data": the no-data grey under light diagonal hatching, as a canvas pattern (the maps
   * use Leaflet's canvas renderer, preferCanvas, whose fillStyle takes a CanvasPattern). One
   * pattern per colour and line scale, made on first use. The legend's swatch is the CSS twin
   * (.gs-swatch--nodata in 05_map.css). */
  var hatches = {};
  gs.hatch = function (base) {
    var k = scale(), key = base + "|" + k;
    if (hatches[key]) { return hatches[key]; }
    var n = Math.max(6, Math.round(8 * k));
    var c = document.createElement("canvas");
    c.width = n; c.height = n;
    var x = c.getContext("2d");
    x.fillStyle = base;
    x.fillRect(0, 0, n, n);
    x.strokeStyle = "rgba(190, 200, 215, 0.7)";
    x.lineWidth = Math.max(1, 1.2 * k);
    x.beginPath();  // one diagonal across the tile and its two halves at the corners
    x.moveTo(0, n); x.lineTo(n, 0);
    x.moveTo(-1, 1); x.lineTo(1, -1);
    x.moveTo(n - 1, n + 1); x.lineTo(n + 1, n - 1);
    x.stroke();
    hatches[key] = x.createPattern(c, "repeat");
    return hatches[key];
  };

  var paintedLevel = null;

  gs.unitStyle = function (feature, context) {
    var h = (context && context.hideout) || {};
    var p = (feature && feature.properties) || {};
    if (p.level !== paintedLevel) {  // a new level was drawn: forget the previous one
      Object.keys(gs.painted).forEach(function (k) { delete gs.painted[k]; });
      paintedLevel = p.level;
    }
    var v = unitValue(feature, h);
    var colors = (h.colors && h.colors[h.palette || "heat"]) || [];
    var nodata = v === null;
    var k = nodata ? -1 : classOf(v, h.breaks || []);
    var shaded = k >= 0 && (v > 0 || h.missing === "nodata");
    var fill = h.zero || "#0c2038";
    if (nodata) { fill = gs.hatch(h.nodata || "#2a2f3a"); }
    else if (shaded) { fill = colors[k] || fill; }
    gs.painted[p.code] = v;
    var opacity = parseFloat(h.opacity || "0.82");
    if (nodata) { opacity = Math.min(opacity, 0.8); }
    else if (!shaded) { opacity = Math.min(opacity, 0.55); }
    var dim = h.focus && p.parent !== h.focus && p.code !== h.focus;
    return {
      fillColor: fill,
      fillOpacity: dim ? opacity * 0.3 : opacity,
      color: dim ? "#27496f" : (h.line || "#3f86c6"),
      weight: (dim ? 0.6 : 1) * (h.weight || scale()),
      opacity: dim ? 0.5 : 0.8
    };
  };

  gs.unitHover = function (feature, context) {
    var h = (context && context.hideout) || {};
    return { weight: 3 * (h.weight || scale()), color: "#ffffff", opacity: 1 };
  };

  /* The Leaflet map of each map container, by container id: lets an operator (and the browser
   * tests) turn a lon/lat into a screen position from the console. */
  gs.maps = gs.maps || {};

  // Shared handlers (no closure per feature: 10,000 polygons are bound at once).
  function toBack() { if (this.bringToBack) { this.bringToBack(); } }
  function tipOnFirstHover(e) {
    if (this.getTooltip()) { return; }
    var h = this._gsHideout || {}, p = (this.feature && this.feature.properties) || {};
    this.bindTooltip(
      "<div class=\"gs-tt-name\">" + esc(p.name) + "</div>" +
      "<div class=\"gs-tt-code\">" + esc(p.code) + "</div>" +
      "<div class=\"gs-tt-count\">" + esc(fmtValue(unitValue(this.feature, h), h)) + "</div>",
      { sticky: true, className: "gs-tooltip", direction: "top", opacity: 1 }
    ).openTooltip(e.latlng);
  }

  /* Hover shows name, code and value; the tooltip is built on the first hover only. All vector
   * layers share one canvas (the mouse reaches only the top canvas), so polygons put themselves
   * at the back, under the points of other layers, even when redrawn after them. */
  gs.unitTooltip = function (feature, layer, context) {
    var map = context && context.map;
    if (map) {
      var id = map.getContainer().id;
      if (gs.maps[id] !== map) { gs.maps[id] = map; }
    }
    layer._gsHideout = (context && context.hideout) || {};
    layer.on({ add: toBack, mouseover: tipOnFirstHover });
  };


  /* Registry layers are toggled through hideout.visible: hidden layers add no feature. */
  gs.layerFilter = function (feature, context) {
    var h = (context && context.hideout) || {};
    return h.visible !== false;
  };

  gs.layerStyle = function (feature, context) {
    var h = (context && context.hideout) || {};
    var p = (feature && feature.properties) || {};
    var c = p.color || h.color || "#3cc8ff";
    return { color: c, fillColor: c, weight: 1.5 * scale(), fillOpacity: 0.35, opacity: 0.9 };
  };

  gs.pointMarker = function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var p = (feature && feature.properties) || {};
    var c = p.color || h.color || "#3cc8ff";
    var m = L.circleMarker(latlng, {
      radius: (p.radius || h.radius || 6) * scale(), color: "#ffffff", weight: 1,
      fillColor: c, fillOpacity: 0.9
    });
    if (p.tooltip || p.name) {
      m.bindTooltip(esc(p.tooltip || p.name), { className: "gs-tooltip", direction: "top" });
    }
    return m;
  };

  /* Heat without a plugin: soft translucent discs whose overlap reads as density. */
  gs.heatPoint = function (feature, latlng, context) {
    var h = (context && context.hideout) || {};
    var p = (feature && feature.properties) || {};
    var w = Math.max(0.2, Math.min(4, p.weight || 1));
    return L.circleMarker(latlng, {
      radius: (h.radius || 14) * Math.sqrt(w) * scale(), stroke: false,
      fillColor: p.color || h.color || "#ff6a3d", fillOpacity: h.intensity || 0.18,
      interactive: false
    });
  };

  /* payload -> [url, data]; an unchanged URL is left alone (no second fetch). */
  gs.layerSource = function (payload, currentUrl) {
    if (!payload) { return [noUpdate(), noUpdate()]; }
    if (payload.url) {
      return [payload.url === currentUrl ? noUpdate() : payload.url, noUpdate()];
    }
    return [currentUrl ? null : noUpdate(),
            payload.data || { type: "FeatureCollection", features: [] }];
  };

  /* Legend rows [label, colour, kind]: "0" first for counts, the classes, then "无数据"
   * (hatched) for rates, or for counts when some unit has no data (h.has_nodata). */
  function legendItems(payload, h, meta) {
    var out = [];
    if (h.breaks && h.labels) {
      var colors = (h.colors && h.colors[h.palette || "heat"]) || [];
      if (h.missing !== "nodata") { out.push([h.missing_label || "0", h.zero]); }
      h.labels.forEach(function (label, i) { out.push([label, colors[i]]); });
      if (h.missing === "nodata" || h.has_nodata) {
        out.push([h.nodata_label || "无数据", h.nodata, "nodata"]);
      }
    }
    ((payload && payload.legend) || []).forEach(function (it) { out.push([it.label, it.color]); });
    return out.map(function (it) {
      return el("Div", { className: "gs-legend-item" + (it[2] ? " gs-legend-" + it[2] : "") }, [
        el("Span", { className: "gs-swatch" + (it[2] ? " gs-swatch--" + it[2] : ""),
                     style: { backgroundColor: it[1] } }),
        el("Span", {}, it[0])
      ]);
    });
  }

  /* payload + toggle + style options -> [hideout, legend]: restyling never asks the server. */
  gs.composeLayer = function () {
    var args = Array.prototype.slice.call(arguments);
    var meta = args.pop() || {};
    var payload = args[0], toggle = args[1], styles = args.slice(2);
    var h = Object.assign({}, (payload && payload.hideout) || {});
    (meta.style_names || []).forEach(function (n, i) { h[n] = styles[i]; });
    h.visible = !!(toggle && toggle.indexOf("on") >= 0);
    h.weight = scale();
    if (meta.pane && meta.pane_z) {  // the layer's own pane above or below the others
      var pane = document.querySelector(".leaflet-" + meta.pane + "-pane");
      if (pane) { pane.style.zIndex = String(meta.pane_z); }
    }
    var legend = [];
    if (h.visible) {
      var title = (payload && payload.legend_title) || meta.legend_zh || "";
      if (title) { legend.push(el("Div", { className: "gs-legend-title" }, title)); }
      legend = legend.concat(legendItems(payload, h, meta));
      if (payload && payload.note) {
        legend.push(el("Div", { className: "gs-legend-note" }, payload.note));
      }
    }
    return [h, legend];
  };

  /* A layer's date range and the selector it feeds (meta.period_window = [option, value, the
   * option's default], from extra["period_window"]): a complete range picked selects that
   * value; a quick choice clears the range; clearing the range while the value is selected
   * returns to the default. One callback has both as inputs and outputs (a circular pair Dash
   * resolves in one step), so the fetch sees one consistent state. */
  gs.periodSync = function (choice, start, end, meta) {
    var pw = (meta && meta.period_window) || [], value = pw[1], fallback = pw[2];
    var trig = ((window.dash_clientside.callback_context || {}).triggered || [])
      .map(function (t) { return t.prop_id || ""; });
    var byRange = trig.some(function (t) { return /\.(start_date|end_date)$/.test(t); });
    var nu = noUpdate();
    if (!value) { return [nu, nu, nu]; }
    if (byRange) {
      if (start && end) { return [choice === value ? nu : value, nu, nu]; }
      if (!start && !end && choice === value) { return [fallback || nu, nu, nu]; }
      return [nu, nu, nu];
    }
    if (choice && choice !== value && (start || end)) { return [nu, null, null]; }
    return [nu, nu, nu];
  };

  function autoLevel(zoom, meta) {
    var counts = meta.level_counts || {}, minZoom = meta.auto_min_zoom || {};
    var maxUnits = meta.auto_max_units || {};
    var chosen = null;
    LEVELS.forEach(function (lv) {
      var n = counts[lv] || 0;
      if (!n || (maxUnits[lv] && n > maxUnits[lv])) { return; }
      if (chosen === null || (zoom != null && zoom >= (minZoom[lv] || 0))) { chosen = lv; }
    });
    return chosen || "grid";
  }

  /* The map's zoom and bounds into a layer's view options (extra["view_from_map"]):
   * zoom as an integer string, bounds as "west,south,east,north" with 6 decimals. */
  gs.viewFromMap = function (zoom, bounds, view, meta) {
    var wanted = (meta && meta.view_from_map) || {}, out = Object.assign({}, view || {});
    Object.keys(wanted).forEach(function (name) {
      if (wanted[name] === "zoom" && zoom != null) { out[name] = String(Math.round(zoom)); }
      if (wanted[name] === "bounds" && bounds && bounds.length === 2) {
        out[name] = [bounds[0][1], bounds[0][0], bounds[1][1], bounds[1][0]]
          .map(function (v) { return (+v).toFixed(6); }).join(",");
      }
    });
    var same = Object.keys(out).every(function (k) { return view && view[k] === out[k]; });
    return same ? noUpdate() : out;
  };

  /* A layer's clicked-feature detail (from the server) handed to its JS (meta.detail_js,
   * a dotted path under window, called with (mapId, detail)). */
  gs.layerDetail = function (detail, meta) {
    var path = (meta && meta.detail_js) || "", fn = window, owner = null;
    path.split(".").forEach(function (k) { owner = fn; fn = fn ? fn[k] : undefined; });
    if (typeof fn !== "function") { return noUpdate(); }
    fn.call(owner, meta.map_id, detail);
    return detail ? (detail.id || true) : null;
  };

  /* zoom / level selector / click / reset -> [view, level selector, viewport]. A click on a
   * unit zooms to it and pins the next level with the unit as focus (drill-down). */
  gs.mapView = function (zoom, level, nClicks, nReset, click, view, meta) {
    meta = meta || {};
    var trig = ((window.dash_clientside.callback_context || {}).triggered || [])
      .map(function (t) { return t.prop_id || ""; });
    var cur = Object.assign({ focus: "" }, view || {});
    var out = Object.assign({}, cur);
    var levelOut = noUpdate(), viewport = noUpdate();
    var clicked = trig.some(function (t) { return /-layer-[a-z0-9_]+\.n_clicks$/.test(t); });
    var reset = trig.some(function (t) { return /-reset\.n_clicks$/.test(t); });
    var levelChanged = trig.some(function (t) { return /-opt-level\.value$/.test(t); });
    if (clicked && click && click.properties) {
      var shown = level === "auto" ? cur.level : level;
      var next = (meta.next_level || {})[shown];
      if (next && (meta.level_counts || {})[next]) {
        levelOut = next;
        out.level = next;
        out.focus = click.properties.code;
      }
      if (click.bounds) {
        viewport = { bounds: click.bounds, transition: "flyToBounds",
                     options: { padding: [40, 40], duration: 0.6 } };
      }
    } else if (reset) {
      levelOut = "auto";
      out.focus = "";
      out.level = autoLevel(zoom, meta);
      if (meta.bounds) { viewport = { bounds: meta.bounds, transition: "flyToBounds" }; }
    } else if (levelChanged) {
      out.focus = "";
      out.level = level === "auto" ? autoLevel(zoom, meta) : level;
    } else if (level === "auto" && zoom != null) {
      out.level = autoLevel(zoom, meta);
    }
    if (!cur.fitted) {  // first call: fit the jurisdiction once the map has its real size
      out.fitted = true;
      if (meta.bounds) { viewport = { bounds: meta.bounds, transition: "fitBounds" }; }
    }
    var changed = out.level !== cur.level || out.focus !== cur.focus || out.fitted !== cur.fitted;
    return [changed ? out : noUpdate(), levelOut, viewport];
  };
})();
