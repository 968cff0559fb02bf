/* gridscope worker positions from the wall feed's compact delta (/feed/workers?since=).
 *
 * Extends window.gridscope (defined by 10_gridscope.js; never replaced here) with:
 *   gridscope.workersDelta.apply(state, data) -> {state, geojson}
 *     state: what the previous call returned (null at first); state.seq is the `since` of the
 *            next request (0: ask for everything).
 *     data:  the feed body's `data` (layers/workers_delta.py describes every field).
 *     geojson: a FeatureCollection with the same features, properties and `meta` as the
 *            worker layer's full payload (layers/workers.py workers_geojson / workers_per_grid),
 *            so the layer JS in 20_layers.js (gridscope.workers.pointToLayer / onEachFeature)
 *            draws it unchanged.
 *   Coordinates: origin + x * q degrees, or (d = 1, deltas only) x, y steps added to those of
 *   the point held. A delta that does not continue `state` (its `since` is not state.seq)
 *   leaves the points as they were; one that names a point relative to a point we lack, or
 *   after which the point count disagrees with meta.points, sets state.seq to 0: the next
 *   request fetches everything, so a missed answer never leaves a wrong map for long.
 *
 * Also a CommonJS module (module.exports) so that the tests can run it under node. No network
 * access; no globals besides window.gridscope. */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module && module.exports) { module.exports = api; }
  if (root) {
    var gs = root.gridscope = root.gridscope || {};
    gs.workersDelta = api;
  }
}(typeof window !== "undefined" ? window : null, function () {
  "use strict";

  var COUNT_META = ["online", "off_duty", "stale", "outside", "hidden_old", "truncated"];

  function round7(v) { return Math.round(v * 1e7) / 1e7; }

  /* One decoded point: position in degrees (display datum) plus the columns of row i; null
   * when its x, y are steps from a point we do not hold (d = 1 and no `prev`). */
  function decode(data, i, perGrid, asOfS, prev) {
    var q = data.q, o = data.origin, x = data.x[i], y = data.y[i];
    if (data.d && data.d[i] === 1) {
      if (!prev) { return null; }
      x += prev.x;
      y += prev.y;
    }
    var rec = {
      x: x,
      y: y,
      lon: round7(o[0] + x * q),
      lat: round7(o[1] + y * q),
      s: data.s[i],
      n: data.n[i]
    };
    if (perGrid) {
      rec.name = data.name[i];
      rec.online = data.online[i];
      rec.off_duty = data.off_duty[i];
      rec.stale = data.stale[i];
      rec.outside = data.outside[i];
    } else {
      rec.r = data.r[i];
      rec.o = data.o[i];
      rec.fixS = asOfS - data.t[i];  // the fix time, so ages can follow later answers
    }
    return rec;
  }

  function ids(data) {
    var out = data.ids.slice();
    if (data.ids_delta) {
      for (var i = 1; i < out.length; i++) { out[i] += out[i - 1]; }
    }
    return out;
  }

  function apply(state, data) {
    if (!data) { return { state: state, geojson: state ? geojson(state) : null }; }
    var perGrid = !!(data.meta && data.meta.per_grid);
    var fresh = !!data.full || !state || state.perGrid !== perGrid;
    if (!fresh && data.since !== state.seq) {
      // Not the continuation of what we hold: keep it, and ask for everything next time.
      state.seq = 0;
      return { state: state, geojson: geojson(state) };
    }
    if (fresh && !data.full) {
      return { state: { seq: 0, perGrid: perGrid, points: {}, count: 0, meta: {}, asOfMs: 0,
                        roles: {}, statusNames: [] }, geojson: null };
    }
    var st = fresh ? { perGrid: perGrid, points: {}, count: 0 } : state;
    var asOfS = Math.floor(data.as_of_ms / 1000);
    var list = ids(data), i, lost = false;
    for (i = 0; i < list.length; i++) {
      var key = String(list[i]);
      var had = Object.prototype.hasOwnProperty.call(st.points, key);
      var rec = decode(data, i, perGrid, asOfS, had ? st.points[key] : null);
      if (!rec) { lost = true; continue; }
      if (!had) { st.count++; }
      rec.id = list[i];
      st.points[key] = rec;
    }
    for (i = 0; i < (data.removed || []).length; i++) {
      var gone = String(data.removed[i]);
      if (Object.prototype.hasOwnProperty.call(st.points, gone)) {
        delete st.points[gone];
        st.count--;
      }
    }
    st.seq = data.seq;
    st.asOfMs = data.as_of_ms;
    st.meta = data.meta || {};
    st.statusNames = st.meta.status_names || ["online", "off_duty", "stale"];
    st.roles = {};
    (st.meta.roles || []).forEach(function (r, k) { st.roles[k] = r; });
    if (data.hideout) { st.hideout = data.hideout; }
    if (data.legend) { st.legend = data.legend; }
    st.note = data.note || "";
    if (lost || (st.meta.points != null && st.meta.points !== st.count)) { st.seq = 0; }
    return { state: st, geojson: geojson(st) };
  }

  function byId(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a) < String(b) ? -1 : (String(a) > String(b) ? 1 : 0);
  }

  function geojson(st) {
    var keys = Object.keys(st.points).map(function (k) { return st.points[k].id; }).sort(byId);
    var asOfS = Math.floor(st.asOfMs / 1000);
    var features = keys.map(function (id) {
      var p = st.points[String(id)];
      var status = st.statusNames[p.s];
      var geometry = { type: "Point", coordinates: [p.lon, p.lat] };
      if (st.perGrid) {
        return { type: "Feature", geometry: geometry, properties: {
          grid: p.name, count: p.n, online: p.online, off_duty: p.off_duty, stale: p.stale,
          outside: p.outside, status: status, role_zh: p.name + " " + p.n + "人" } };
      }
      var role = st.roles[p.r] || ["", ""];
      return { type: "Feature", id: id, geometry: geometry, properties: {
        id: id, role: role[0], role_zh: role[1], status: status, outside: p.o === 1,
        age_s: Math.max(0, asOfS - p.fixS) } };
    });
    var m = st.meta || {}, meta = {};
    COUNT_META.forEach(function (k) { meta[k] = m[k] || 0; });
    if (st.perGrid) { meta.elsewhere = m.elsewhere || 0; }
    meta.source = m.source || "";
    if (st.perGrid) { meta.per_grid = true; }
    meta.as_of_ms = st.asOfMs;
    return { type: "FeatureCollection", features: features, meta: meta };
  }

  return { apply: apply, geojson: geojson };
}));
