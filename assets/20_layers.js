/* gridscope map layers: incident heat (leaflet.heat), worker positions, overdue tickets.
 *
 * Extends window.gridscope (defined by 10_gridscope.js; never replaced here) with:
 *   gridscope.mapById(id)              the Leaflet map whose container has DOM id `id`
 *   gridscope.heat.pointToLayer        GeoJSON pointToLayer for render "heat" (see below)
 *   gridscope.heat.update(mapId, payload, options)   draw a heat payload directly
 *   gridscope.heat.state(mapId, key)   {points, total, onMap} of a drawn heat (tests, console)
 *   gridscope.heatRender(payload, visible, mapId)    the same as a clientside callback
 *   gridscope.workers.pointToLayer / onEachFeature / showDetail(mapId, detail) / clearDetail
 *   gridscope.workerDetailRender(detail, mapId)      showDetail as a clientside callback
 *   gridscope.overdue.pointToLayer / clusterToLayer / onEachFeature
 *
 * Load order: dash_leaflet.js (defines window.L) runs before every asset; assets load in
 * sorted order, directory by directory, so this file runs BEFORE
 * vendor/leaflet-heat/leaflet-heat.js. L.HeatLayer is therefore looked up when first needed,
 * never at load. No network access; no globals besides window.gridscope. */
(function () {
  "use strict";

  var gs = window.gridscope = window.gridscope || {};
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.gridscope = window.dash_clientside.gridscope || gs;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* ---- Leaflet maps by container id --------------------------------------------------------
   * dash-leaflet 1.1.3 keeps the map instance inside React (no global handle); every map is
   * created with `new L.Map(div)`, so an init hook installed before the first render sees it.
   * The div carries the dash component id (e.g. "scr-map", "ana-map"). */
  var maps = {};
  /* Leaflet ends a zoom animation from a 250 ms timer (_onZoomTransitionEnd), and layers and
   * plugins redraw from timers and animation frames. When Dash re-renders a page meanwhile
   * (back/forward on /explore rebuilds its map), those fire on a removed map, whose panes are
   * gone, and reading the map pane's position throws "reading '_leaflet_pos'". A removed map
   * has nothing left to move: the zoom's end is skipped, and the pane's position reads as
   * (0, 0), the fallback Leaflet itself uses for a pane not positioned yet. */
  function guardRemovedMaps(proto) {
    var end = proto._onZoomTransitionEnd, panePos = proto._getMapPanePos;
    if (typeof end === "function" && !end.gsGuarded) {
      proto._onZoomTransitionEnd = function () {
        if (!this._mapPane) { return undefined; }
        return end.apply(this, arguments);
      };
      proto._onZoomTransitionEnd.gsGuarded = true;
    }
    if (typeof panePos === "function" && !panePos.gsGuarded) {
      proto._getMapPanePos = function () {
        if (!this._mapPane) { return window.L.point(0, 0); }
        return panePos.apply(this, arguments);
      };
      proto._getMapPanePos.gsGuarded = true;
    }
  }
  function hookMaps() {
    if (hookMaps.done || !window.L || !window.L.Map) { return; }
    guardRemovedMaps(window.L.Map.prototype);
    window.L.Map.addInitHook(function () {
      var map = this, el = map.getContainer && map.getContainer();
      if (!el || !el.id) { return; }
      maps[el.id] = map;
      map.on("unload", function () { if (maps[el.id] === map) { delete maps[el.id]; } });
    });
    hookMaps.done = true;
  }
  hookMaps();
  gs.mapById = function (id) { hookMaps(); return maps[id] || null; };

  /* ---- Incident heat -----------------------------------------------------------------------
   * One L.heatLayer per (map, key). Two ways to feed it:
   * 1. render "heat" through a dash-leaflet GeoJSON with pointToLayer =
   *    gridscope.heat.pointToLayer: each point becomes an invisible HeatPoint layer whose
   *    add/remove registers it with the heat of its map and GeoJSON id, so refreshing, hiding
   *    (removing the GeoJSON) or emptying the data redraws or clears the heat. leaflet.heat
   *    options come from hideout.heat {max, radius, blur, maxZoom, gradient}; hideout.visible
   *    === false hides it.
   * 2. gridscope.heat.update(mapId, payload, options) from a clientside callback. */
  var DEFAULT_HEAT = { radius: 20, blur: 15, max: 1, minOpacity: 0.25 };
  var HeatClass = null, warnedNoHeat = false;

  function heatClass() {
    if (HeatClass) { return HeatClass; }
    if (!window.L || !window.L.HeatLayer) {
      if (!warnedNoHeat) {
        warnedNoHeat = true;
        console.warn("gridscope: leaflet.heat is not loaded (assets/vendor/leaflet-heat)");
      }
      return null;
    }
    // leaflet.heat 0.2.0 always draws into the overlay pane; keep its canvas in our pane (so
    // the layer order of the map holds) and hand it back before its own onRemove.
    HeatClass = window.L.HeatLayer.extend({
      onAdd: function (map) {
        window.L.HeatLayer.prototype.onAdd.call(this, map);
        var pane = this.options.gsPane && map.getPane(this.options.gsPane);
        if (pane && this._canvas.parentNode !== pane) { pane.appendChild(this._canvas); }
      },
      onRemove: function (map) {
        var over = map.getPanes().overlayPane;
        if (this._canvas && this._canvas.parentNode !== over) { over.appendChild(this._canvas); }
        window.L.HeatLayer.prototype.onRemove.call(this, map);
      }
    });
    return HeatClass;
  }

  var sinks = {};
  function sinkFor(map, key) {
    var id = window.L.stamp(map) + ":" + key;
    if (!sinks[id]) {
      sinks[id] = { map: map, key: key, members: {}, direct: null, opts: {}, layer: null,
                    timer: null, points: 0, total: 0 };
      map.on("unload", function () { delete sinks[id]; });
    }
    return sinks[id];
  }

  function heatOptions(h) {
    var o = {}, k;
    for (k in DEFAULT_HEAT) { o[k] = DEFAULT_HEAT[k]; }
    var src = (h && h.heat) || h || {};
    ["radius", "blur", "max", "maxZoom", "minOpacity", "gradient"].forEach(function (name) {
      if (src[name] != null) { o[name] = src[name]; }
    });
    // Radii in CSS px scale with the root font, like every other mark on the wall.
    o.radius = o.radius * rootScale();
    o.blur = o.blur * rootScale();
    o.visible = !(h && h.visible === false);
    return o;
  }

  function flush(s) {
    s.timer = null;
    var pts = [], total = 0, id, m;
    if (s.direct) {
      pts = s.direct;
    } else {
      for (id in s.members) {
        m = s.members[id];
        pts.push([m._latlng.lat, m._latlng.lng, m._w]);
      }
    }
    for (var i = 0; i < pts.length; i++) { total += pts[i][2]; }
    var show = pts.length > 0 && s.opts.visible !== false;
    if (!show) {
      if (s.layer && s.map.hasLayer(s.layer)) { s.map.removeLayer(s.layer); }
      s.points = 0; s.total = 0;
      return;
    }
    var Heat = heatClass();
    if (!Heat) { return; }
    var opts = {};
    for (var k in s.opts) { if (k !== "visible") { opts[k] = s.opts[k]; } }
    if (!s.layer) {
      s.layer = new Heat(pts, opts);
    } else if (s.map.hasLayer(s.layer)) {
      window.L.setOptions(s.layer, opts);
      if (s.layer._heat) { s.layer._updateOptions(); }
      s.layer.setLatLngs(pts);
    } else {
      // leaflet.heat 0.2.0 redraws without checking that it is on a map: off the map, only
      // store the data; onAdd draws it.
      window.L.setOptions(s.layer, opts);
      if (s.layer._heat) { s.layer._updateOptions(); }
      s.layer._latlngs = pts;
    }
    if (!s.map.hasLayer(s.layer)) { s.layer.addTo(s.map); }
    s.points = pts.length;
    s.total = total;
  }

  function schedule(s) {
    // Coalesce the burst of add/remove calls of one GeoJSON refresh into one redraw.
    if (!s.timer) { s.timer = setTimeout(function () { flush(s); }, 0); }
  }

  var HeatPoint = null;
  function heatPointClass() {
    if (HeatPoint) { return HeatPoint; }
    HeatPoint = window.L.Layer.extend({
      initialize: function (latlng, weight, key, opts) {
        this._latlng = latlng; this._w = weight; this._key = key; this._opts = opts;
      },
      onAdd: function (map) {
        var s = sinkFor(map, this._key);
        s.direct = null;
        s.members[window.L.stamp(this)] = this;
        s.opts = this._opts;
        schedule(s);
      },
      onRemove: function (map) {
        var s = sinkFor(map, this._key);
        delete s.members[window.L.stamp(this)];
        schedule(s);
      },
      getLatLng: function () { return this._latlng; }
    });
    return HeatPoint;
  }

  function featurePoints(payload) {
    var fc = payload && payload.type === "FeatureCollection" ? payload : (payload && payload.data);
    var out = [];
    ((fc && fc.features) || []).forEach(function (f) {
      var c = f.geometry && f.geometry.coordinates;
      if (!c) { return; }
      var w = f.properties && f.properties.weight;
      out.push([c[1], c[0], w == null ? 1 : +w]);
    });
    return out;
  }

  gs.heat = {
    /* GeoJSON pointToLayer(feature, latlng, context): an invisible member of the heat of
     * (context.map, context.id); weight = feature.properties.weight. */
    pointToLayer: function (feature, latlng, context) {
      var P = heatPointClass();
      var h = (context && context.hideout) || {};
      var opts = heatOptions(h);
      if (context && context.pane) { opts.gsPane = context.pane; }
      var w = feature && feature.properties && feature.properties.weight;
      return new P(latlng, w == null ? 1 : +w, (context && context.id) || "heat", opts);
    },

    /* Draw `payload` (the heat FeatureCollection, or {data, hideout}) on the map with DOM id
     * `mapId`; `options` are leaflet.heat options plus `visible` and `pane` (default: those
     * of payload.hideout). Returns the number of points drawn (0 when hidden or no map). */
    update: function (mapId, payload, options) {
      var map = gs.mapById(mapId);
      if (!map) { return 0; }
      var s = sinkFor(map, "direct");
      var h = options || (payload && payload.hideout) || {};
      s.opts = heatOptions(h);
      if (h.pane) { s.opts.gsPane = h.pane; }
      s.members = {};
      s.direct = featurePoints(payload);
      flush(s);
      return s.points;
    },

    /* {points, total, onMap} of the heat drawn for `key` (a GeoJSON id, or "direct"). */
    state: function (mapId, key) {
      var map = gs.mapById(mapId);
      if (!map) { return null; }
      var s = sinks[window.L.stamp(map) + ":" + (key || "direct")];
      if (!s) { return { points: 0, total: 0, onMap: false }; }
      return { points: s.points, total: s.total, onMap: !!(s.layer && map.hasLayer(s.layer)) };
    }
  };

  /* Clientside callback form: heatRender(payload, visible, mapId) -> points drawn. */
  gs.heatRender = function (payload, visible, mapId) {
    var h = {}, src = (payload && payload.hideout) || {}, k;
    for (k in src) { h[k] = src[k]; }
    h.visible = visible !== false;
    return gs.heat.update(mapId, payload, h);
  };

  /* ---- Worker positions -------------------------------------------------------------------
   * Properties: id, role, role_zh, status (online|off_duty|stale), outside, age_s.
   * hideout: {colors: {role: colour}, grey, outside, radius, emphasis: "none"|"outside"}. */
  var STATUS_ZH = { online: "在线", off_duty: "离岗", stale: "无定位" };

  function ageText(s) {
    if (s == null) { return ""; }
    if (s < 60) { return s + "秒前"; }
    if (s < 3600) { return Math.floor(s / 60) + "分钟前"; }
    if (s < 86400) { return Math.floor(s / 3600) + "小时" + Math.floor((s % 3600) / 60) + "分前"; }
    return Math.floor(s / 86400) + "天前";
  }

  var trackLayers = {};

  /* A count per grid (layers without exact points: workers for roles without read_tracks,
   * overdue tickets for roles without exact_points and sensitive categories for everyone):
   * a round badge with the number, in `bg`. */
  function countBadge(latlng, n, bg, fg, context, cls) {
    var k = rootScale();
    var size = Math.round((26 + 6 * Math.log10(Math.max(1, n))) * k);
    var html = "<div class=\"" + cls + "\" data-count=\"" + (n | 0) + "\" style=\"width:" + size +
      "px;height:" + size + "px;line-height:" + size + "px;border-radius:50%;text-align:center;" +
      "font-weight:700;font-size:" + Math.max(Math.round(16 * k), Math.round(size / 2.4)) +
      "px;background:" + bg + ";color:" + fg + ";box-shadow:0 0 0 3px rgba(0,0,0,0.35);\">" +
      (n | 0) + "</div>";
    var opts = { icon: window.L.divIcon({ html: html, className: "gs-count-wrap",
                                          iconSize: window.L.point(size, size) }) };
    if (context && context.pane) { opts.pane = context.pane; }
    return window.L.marker(latlng, opts);
  }

  function rootScale() {
    var px = parseFloat(window.getComputedStyle(document.documentElement).fontSize);
    return px > 0 ? px / 16 : 1;
  }

  gs.workers = {
    pointToLayer: function (feature, latlng, context) {
      var h = (context && context.hideout) || {}, p = feature.properties || {};
      if (p.count != null) {
        // Counts per grid (roles without read_tracks): a dot per grid sized by its workers,
        // the numbers in the tooltip. A badge on each of 3,000 grids buried the map.
        var dot = {
          radius: (3 + 1.5 * Math.sqrt(Math.max(1, p.count | 0))) * rootScale(),
          fillColor: p.online ? "#3cc8ff" : (h.grey || "#6b7a8f"),
          fillOpacity: 0.85,
          color: "#0b1a2e",
          weight: 1,
          className: "gs-worker-count" + (p.outside ? " gs-worker-outside" : "")
        };
        if (context && context.pane) { dot.pane = context.pane; }
        return window.L.circleMarker(latlng, dot);
      }
      var live = p.status === "online";
      var fill = live ? ((h.colors || {})[p.role] || "#3cc8ff") : (h.grey || "#6b7a8f");
      var faint = h.emphasis === "outside" && !p.outside;
      var opts = {
        radius: (h.radius || 6) * rootScale(),
        fillColor: fill,
        fillOpacity: faint ? 0.25 : 0.95,
        color: p.outside ? (h.outside || "#ff3b30") : "#0b1a2e",
        weight: p.outside ? 3 : 1,
        opacity: faint ? 0.4 : 1,
        className: "gs-worker gs-worker-" + esc(p.status) + (p.outside ? " gs-worker-outside" : "")
      };
      if (context && context.pane) { opts.pane = context.pane; }
      return window.L.circleMarker(latlng, opts);
    },

    onEachFeature: function (feature, layer) {
      var p = feature.properties || {};
      if (p.count != null) {
        layer.bindTooltip(esc(p.grid) + "：在线 " + (p.online | 0) + " · 离岗 " + (p.off_duty | 0) +
          " · 无定位 " + (p.stale | 0) + (p.outside ? " · <b>越界 " + (p.outside | 0) + "</b>" : ""),
          { direction: "top", className: "gs-tooltip", opacity: 1 });
        return;
      }
      var text = esc(p.role_zh) + " · " + esc(STATUS_ZH[p.status] || p.status) +
        (p.status === "online" ? "" : " · " + ageText(p.age_s)) +
        (p.outside ? " · <b>不在所属网格</b>" : "");
      layer.bindTooltip(text, { direction: "top", className: "gs-tooltip", opacity: 1 });
    },

    /* The clicked worker: popup (name, role, grids, last ping, micro-grids visited today) and
     * today's track as a line; `detail` is layers.workers.detail's result (null clears). */
    showDetail: function (mapId, detail) {
      var map = gs.mapById(mapId);
      if (!map) { return false; }
      gs.workers.clearDetail(mapId);
      if (!detail || !detail.position) { return false; }
      var group = window.L.layerGroup().addTo(map);
      trackLayers[mapId] = group;
      if (detail.track) {
        window.L.geoJSON(detail.track, {
          style: { color: "#ffd60a", weight: 3, opacity: 0.9 },
          interactive: false
        }).addTo(group);
      }
      var mg = detail.micro_grids || {};
      var share = mg.share == null ? "—" : Math.round(mg.share * 1000) / 10 + "%";
      var grids = (detail.grids || []).map(function (g) { return esc(g.name); }).join("、");
      var last = detail.last_ping ? String(detail.last_ping).replace("T", " ").slice(0, 19) : "—";
      var html =
        "<div class=\"gs-pop gs-pop-worker\">" +
        "<div class=\"gs-pop-title\">" + esc(detail.name) + " · " + esc(detail.role_zh) + "</div>" +
        "<div>所属网格：" + (grids || "—") + "</div>" +
        "<div>最后定位：" + esc(last) + "（" + ageText(detail.last_ping_age_s) + "）" +
        (detail.outside ? " · <b>不在所属网格</b>" : "") + "</div>" +
        "<div>今日巡查微网格：" + (mg.visited || 0) + "/" + (mg.total || 0) + "（" + share + "）</div>" +
        "<div>今日轨迹点：" + (detail.track_points || 0) + "</div></div>";
      window.L.popup({ className: "gs-popup", autoPan: true })
        .setLatLng([detail.position[1], detail.position[0]])
        .setContent(html)
        .on("remove", function () { gs.workers.clearDetail(mapId); })
        .addTo(group);
      return true;
    },

    clearDetail: function (mapId) {
      var g = trackLayers[mapId];
      if (g) {
        delete trackLayers[mapId];
        if (g._map) { g._map.removeLayer(g); }
      }
    }
  };

  gs.workerDetailRender = function (detail, mapId) {
    return gs.workers.showDetail(mapId, detail) ? detail.id : null;
  };

  /* ---- Overdue tickets --------------------------------------------------------------------
   * Properties: no, category, grid, stage, lead, step (1 reminder, 2 yellow, 3 red),
   * overdue_s, rework. hideout: {colors: {"1","2","3"}, step_names: {"1","2","3"}, radius}.
   * The step's name comes once per payload in hideout.step_names (domain.supervision
   * STEP_NAMES_ZH, sent by layers/overdue.py); the duration text is derived here. */
  var STEP_TEXT = { 1: "#06131f", 2: "#1a1400", 3: "#ffffff" };
  var stepNames = {};

  function rememberStepNames(context) {
    var h = (context && context.hideout) || {};
    if (h.step_names) { stepNames = h.step_names; }
  }

  /* Two largest units, minutes floored: 2天3小时, 5小时12分, 8分 (= domain.text.duration_zh,
   * checked against it by tests/browser/test_layers_live.py). */
  function durationZh(seconds) {
    var minutes = Math.floor(Math.max(0, seconds) / 60);
    var days = Math.floor(minutes / 1440), rem = minutes % 1440;
    var hours = Math.floor(rem / 60), mins = rem % 60;
    if (days) { return hours ? days + "天" + hours + "小时" : days + "天"; }
    if (hours) { return mins ? hours + "小时" + mins + "分" : hours + "小时"; }
    return mins + "分";
  }

  function overdueZh(seconds) {
    return seconds > 0 ? "超期 " + durationZh(seconds) : "剩余 " + durationZh(-seconds);
  }
  var worstCache = typeof WeakMap === "function" ? new WeakMap() : null;

  function worstStep(index, clusterId) {
    var byId = worstCache && worstCache.get(index);
    if (!byId && worstCache) { byId = {}; worstCache.set(index, byId); }
    if (byId && byId[clusterId] != null) { return byId[clusterId]; }
    var worst = 1, n = 0;
    index.getLeaves(clusterId, Infinity).forEach(function (f) {
      var p = f.properties || {}, s = p.step || 1;
      if (s > worst) { worst = s; }
      n += p.count != null ? (p.count | 0) : 1;  // a grid's count stands for its tickets
    });
    var got = { step: worst, tickets: n };
    if (byId) { byId[clusterId] = got; }
    return got;
  }

  gs.overdue = {
    durationZh: durationZh,
    pointToLayer: function (feature, latlng, context) {
      var h = (context && context.hideout) || {}, p = feature.properties || {};
      rememberStepNames(context);
      if (p.count != null) {
        return countBadge(latlng, p.count, (h.colors || {})[String(p.step)] || "#ff3b30",
                          STEP_TEXT[p.step] || "#ffffff", context, "gs-overdue-count");
      }
      var opts = {
        radius: (h.radius || 7) * rootScale(),
        fillColor: (h.colors || {})[String(p.step)] || "#ff3b30",
        fillOpacity: 0.95,
        color: "#0b1a2e",
        weight: 1.5,
        className: "gs-overdue gs-overdue-" + (p.step | 0)
      };
      if (context && context.pane) { opts.pane = context.pane; }
      return window.L.circleMarker(latlng, opts);
    },

    /* A cluster in the colour of the worst step inside it, with its ticket count. */
    clusterToLayer: function (feature, latlng, index, context) {
      var h = (context && context.hideout) || {}, p = feature.properties || {};
      var agg = worstStep(index, p.cluster_id);
      var worst = agg.step;
      var n = agg.tickets;
      // Sizes follow the root font (16 px at 1080p, 32 px on 4K walls): text >= 16 px.
      var k = rootScale();
      var size = Math.round((32 + 8 * Math.log10(Math.max(1, n))) * k);
      var bg = (h.colors || {})[String(worst)] || "#ff3b30";
      var html = "<div class=\"gs-ocl gs-ocl-" + worst + "\" data-step=\"" + worst +
        "\" data-count=\"" + n + "\" style=\"width:" + size + "px;height:" + size +
        "px;line-height:" + size + "px;border-radius:50%;text-align:center;font-weight:700;" +
        "font-size:" + Math.max(Math.round(16 * k), Math.round(size / 2.4)) + "px;background:" + bg + ";color:" +
        STEP_TEXT[worst] + ";box-shadow:0 0 0 4px rgba(0,0,0,0.35);\">" +
        esc(n) + "</div>";
      var opts = {
        icon: window.L.divIcon({ html: html, className: "gs-ocl-wrap",
                                 iconSize: window.L.point(size, size) })
      };
      if (context && context.pane) { opts.pane = context.pane; }
      return window.L.marker(latlng, opts);
    },

    /* Popup: public facts only (no address, description or reporter). */
    onEachFeature: function (feature, layer, context) {
      var p = feature.properties || {};
      if (p.cluster) { return; }
      rememberStepNames(context);
      // Built when opened, so the step names of the latest payload are used.
      layer.bindPopup(function () { return p.count != null ? gridCountPopup(p) : overduePopup(p); },
                      { className: "gs-popup" });
    }
  };

  /* A grid's counts: no ticket number, category or point (layers/overdue.py grid_feature). */
  function gridCountPopup(p) {
    var by = p.by_step || {};
    return (
      "<div class=\"gs-pop gs-pop-overdue\">" +
      "<div class=\"gs-pop-title\">" + esc(p.grid) + "</div>" +
      "<div>" + (p.sensitive ? "敏感类别工单（仅显示数量）" : "预警及超期工单（按网格汇总）") +
      "：" + (p.count | 0) + " 件</div>" +
      ["1", "2", "3"].map(function (k) {
        return "<div class=\"gs-pop-step gs-step-" + k + "\">" + esc(stepNames[k] || "") + " " +
          (by[k] | 0) + " 件</div>";
      }).join("") + "</div>"
    );
  }

  function overduePopup(p) {
    return (
      "<div class=\"gs-pop gs-pop-overdue\">" +
      "<div class=\"gs-pop-title\">" + esc(p.no) + "</div>" +
      "<div>类别：" + esc(p.category) + "</div>" +
      "<div>网格：" + esc(p.grid) + "</div>" +
      "<div>环节：" + esc(p.stage) + "</div>" +
      "<div>牵头部门：" + esc(p.lead || "—") + "</div>" +
      "<div class=\"gs-pop-step gs-step-" + (p.step | 0) + "\">" +
      esc(stepNames[String(p.step)] || "") + " · " + esc(overdueZh(p.overdue_s | 0)) +
      (p.rework ? " · 返工" + (p.rework | 0) + "次" : "") + "</div></div>"
    );
  }
})();
