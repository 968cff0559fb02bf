/* gridscope wall (/screen): the browser half of the feed contract (docs/architecture.md, "How
 * walls get their data"). No Dash callback refreshes the wall: this file polls the feeds
 * (GET /feed/<panel>, dashboard/feed_routes.py) listed in #gs-screen's data-feeds, each at its
 * own period with If-None-Match, and draws the data they send (display-ready: names, numbers
 * and widths come from the server).
 *
 *   window.gridscope.wall.setView({unit, label, board, bounds})  rotation: counters, ticker and
 *       board switch to `unit` (null: the whole jurisdiction) and re-poll at once, the map flies
 *       to the unit (bounds given, else those of the grid layer's polygons of the unit),
 *       `board` turns the overdue board's feed on.
 *   window.gridscope.wall.onPoll(fn)   fn(panel, body or null (304, failure), info) after
 *       every poll; info = {status, asOf, stale, unit}.
 *   window.gridscope.wall.state()      {panel: {asOf, stale, late, etag, status}} (tests).
 *
 * The worker layer comes as a delta (GET /feed/workers?since=<cursor>, layers/workers_delta.py)
 * applied by 25_workers_delta.js (gridscope.workersDelta.apply); without that file, as the full
 * layer feed (layer-workers).
 *
 * Map layers: the payload goes into the layer's store with dash_clientside.set_props, so the
 * map's clientside callbacks (20_map.js) draw it as before. The panels are drawn by
 * 29_wall_panels.js (the trend chart through set_props on gs-trend, at the measured scale).
 * Freshness: every panel shows its feed's "as of"; older than twice its period, it is marked
 * stale with its age and keeps its data. A banner shows while the server reports PostgreSQL or
 * Redis away (X-Feed-Degraded, "stale": true) or does not answer, and clears by itself.
 * The clock shows the server's time (X-Server-Time: kiosk PCs on an intranet have no NTP).
 * No globals besides window.gridscope; no inline script (CSP). */
(function () {
  "use strict";
  var POLL_SHARE = 0.65;  // of a panel's period, see poll()

  var gs = window.gridscope = window.gridscope || {};
  var REASONS = {
    postgres: "数据库连接中断，显示最近一次数据",
    redis: "缓存服务中断，数据直接取自数据库",
    offline: "服务器连接中断，显示最近一次数据",
    unavailable: "数据库暂不可用，等待恢复",
    session: "登录已失效，请重新打开大屏链接"
  };
  var UNIT_FEEDS = { counters: true, ticker: true, board: true };

  var S = null;  // the running wall: {root, feeds, view, offset, tz, started}
  var hooks = [];

  function byId(id) { return document.getElementById(id); }

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (!dc || !dc.set_props) { return false; }
    dc.set_props(id, props);
    return true;
  }

  /* ---- time ------------------------------------------------------------------------------ */

  var formats = {};
  function parts(tz, ms) {
    var key = tz || "Asia/Shanghai";
    if (!formats[key]) {
      formats[key] = new Intl.DateTimeFormat("zh-CN", {
        timeZone: key, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
    }
    var out = {};
    formats[key].formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function clockText(tz, ms) {
    var p = parts(tz, ms);
    return p.year + "-" + p.month + "-" + p.day + " " + p.weekday + " " +
      p.hour + ":" + p.minute + ":" + p.second;
  }
  function hms(tz, ms) { var p = parts(tz, ms); return p.hour + ":" + p.minute + ":" + p.second; }
  function serverNow() { return Date.now() + (S ? S.offset : 0); }
  function ageText(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) { return s + "秒"; }
    if (s < 3600) { return Math.floor(s / 60) + "分钟"; }
    return Math.floor(s / 3600) + "小时" + Math.floor((s % 3600) / 60) + "分";
  }

  function learnClock(resp) {
    var server = +resp.headers.get("X-Server-Time");
    if (!server) {
      var date = Date.parse(resp.headers.get("Date") || "");
      if (!isNaN(date)) { server = date; }
    }
    if (server) { S.offset = server - Date.now(); }
  }

  /* The worker delta (layers/workers_delta.py): the points held so far plus what changed,
   * turned into the layer's GeoJSON by 25_workers_delta.js; full answers bring the style. */
  function drawDelta(f, d) {
    var got = gs.workersDelta.apply(f.points || null, d);
    f.points = got.state;
    f.since = got.state ? got.state.seq : 0;
    if (d.hideout) { f.style = { hideout: d.hideout, legend: d.legend || [] }; }
    var st = f.style || {};
    setProps(f.spec.store, { data: {
      data: got.geojson, url: null, format: "geojson", hideout: st.hideout || {},
      legend: st.legend || [], legend_title: "", note: d.note || "", as_of_ms: d.as_of_ms
    } });
  }

  function draw(f, body) {
    var d = body.data;
    if (f.spec.delta) { drawDelta(f, d); return; }
    if (f.spec.store) { setProps(f.spec.store, { data: d }); return; }
    if (f.spec.panel === "counters") { gs.wallPanels.counters(d, S.view.unit && S.view.label); }
    if (f.spec.panel === "ticker") { gs.wallPanels.ticker(d); }
  }

  /* ---- polling ----------------------------------------------------------------------------- */

  function map() { return gs.mapById ? gs.mapById(S.mapId) : null; }

  function viewQuery(spec) {
    var out = {}, wanted = spec.view_from_map || {}, m = map();
    if (!m) { return out; }
    Object.keys(wanted).forEach(function (name) {
      if (wanted[name] === "zoom") { out[name] = String(Math.round(m.getZoom())); }
      if (wanted[name] === "bounds") {
        var b = m.getBounds();
        out[name] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
          .map(function (v) { return (+v).toFixed(6); }).join(",");
      }
    });
    return out;
  }

  function feedUrl(f) {
    var q = Object.assign({}, f.spec.query || {}, viewQuery(f.spec));
    if (UNIT_FEEDS[f.spec.panel] && S.view.unit) { q.unit = S.view.unit; }
    if (f.spec.delta) { q.since = String(f.since || 0); }
    var keys = Object.keys(q).sort();
    var qs = keys.map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(q[k]); });
    return "/feed/" + f.spec.panel + (qs.length ? "?" + qs.join("&") : "");
  }

  function active(f) { return f.spec.when !== "board" || S.view.board; }

  function schedule(f, ms) {
    clearTimeout(f.timer);
    // A little jitter, so that screens loaded together do not poll in lockstep.
    f.timer = setTimeout(function () { poll(f); }, ms + Math.random() * Math.min(1000, ms * 0.05));
  }

  function notify(f, body) {
    var info = { status: f.status, asOf: f.asOf, stale: f.stale, unit: S.view.unit };
    hooks.forEach(function (fn) {
      try { fn(f.spec.panel, body, info); } catch (e) { console.warn("gridscope wall hook", e); }
    });
  }

  function poll(f) {
    if (!S || f.wall !== S) { return; }
    clearTimeout(f.timer);
    var period = f.spec.period_s * 1000;
    if (!active(f)) { schedule(f, 1000); return; }
    if (!f.firstPoll) { f.firstPoll = Date.now(); }
    var url = feedUrl(f);
    if (url !== f.url) { f.url = url; f.etag = null; f.stale = false; }
    var headers = f.etag ? { "If-None-Match": f.etag } : {};
    var seq = ++f.seq, wall = S;
    fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (resp) {
        if (wall !== S || seq !== f.seq) { return null; }
        learnClock(resp);
        f.status = resp.status;
        f.degraded = (resp.headers.get("X-Feed-Degraded") || "").split(",").filter(Boolean);
        if (resp.status === 304) {
          f.asOf = +resp.headers.get("X-As-Of") || f.asOf;
          f.stale = resp.headers.get("X-Feed-Stale") === "1";
          f.failure = null;
          notify(f, null);
          return null;
        }
        if (resp.status !== 200) {
          f.failure = resp.status === 401 ? "session" : resp.status === 503 ? "unavailable" : "offline";
          var retry = +resp.headers.get("Retry-After");
          notify(f, null);
          return retry ? retry * 1000 : null;
        }
        return resp.json().then(function (body) {
          if (wall !== S || seq !== f.seq) { return null; }
          if (body.stale && f.asOf && body.as_of_ms < f.asOf) {
            // The server's last good entry is older than what this screen shows (e.g. the
            // worker layer's full answer standing in for a new cursor): keep ours.
            f.stale = true;
            f.failure = null;
            notify(f, null);
            return null;
          }
          f.etag = resp.headers.get("ETag");
          f.asOf = body.as_of_ms;
          f.stale = !!body.stale;
          f.failure = null;
          f.body = body;
          draw(f, body);
          notify(f, body);
          return null;
        });
      })
      .catch(function () {
        if (wall !== S || seq !== f.seq) { return null; }
        f.status = 0;
        f.failure = "offline";
        notify(f, null);
        return null;
      })
      .then(function (retryMs) {
        if (wall !== S || seq !== f.seq) { return; }
        // Poll at 0.65 of the period: with the server's recompute floor (period/8), its
        // refresher's tick (0.5 s) and its version sampling (1 s) a write reaches every screen
        // within one period (issue #10; polling at the period itself let the slowest screens
        // see it after 1.25 periods).
        // Unchanged answers are 304s, so the extra polls cost little.
        var next = f.failure ? Math.min(period, retryMs || 5000) : Math.round(period * POLL_SHARE);
        schedule(f, next);
        mark();
      });
  }

  /* ---- freshness ------------------------------------------------------------------------- */

  /* How old the panel's data is (ms): since its as-of, or since the first poll of a panel
   * that has had nothing yet (null before that: a board never shown is not late). */
  function age(f) {
    if (f.asOf) { return serverNow() - f.asOf; }
    return f.firstPoll ? Date.now() - f.firstPoll : null;
  }

  function late(f) {
    var a = age(f);
    return a !== null && a > 2 * f.spec.period_s * 1000;
  }

  function mark() {
    if (!S) { return; }
    var reasons = {};
    Object.keys(S.feeds).forEach(function (panel) {
      var f = S.feeds[panel];
      if (!active(f)) { return; }
      var isLate = late(f);
      var text = f.asOf ? "更新 " + hms(S.tz, f.asOf) : "等待数据";
      if (isLate) { text = "数据延迟 " + ageText(age(f)); }
      var key = f.spec.asof || panel;
      document.querySelectorAll(".gs-asof[data-feed=\"" + key + "\"]").forEach(function (el) {
        el.textContent = text;
        el.classList.toggle("gs-asof--stale", isLate);
      });
      document.querySelectorAll("[data-feed=\"" + key + "\"]:not(.gs-asof)").forEach(function (el) {
        el.classList.toggle("gs-stale-panel", isLate);
      });
      if (f.failure) { reasons[f.failure] = true; }
      // Not f.stale alone: an entry served stale because a lock or another process's
      // computation held it up is no outage (the banner once showed with PostgreSQL up).
      (f.degraded || []).forEach(function (d) { reasons[d] = true; });
    });
    var updated = byId("gs-updated"), counters = S.feeds.counters;
    if (updated && counters) {
      updated.textContent = late(counters)
        ? "数据延迟 " + ageText(age(counters))
        : counters.asOf ? "数据更新于 " + hms(S.tz, counters.asOf) : "数据更新于 —";
      updated.classList.toggle("gs-asof--stale", late(counters));
    }
    var banner = byId("gs-banner");
    if (banner) {
      var order = ["session", "offline", "unavailable", "postgres", "redis"];
      var text = order.filter(function (k) { return reasons[k]; }).map(function (k) {
        return REASONS[k];
      }).slice(0, 2).join(" · ");
      banner.textContent = text;
      banner.hidden = !text;
    }
  }

  function clock() {
    if (!S) { return; }
    var el = byId("gs-clock");
    if (el) { el.textContent = clockText(S.tz, serverNow()); }
    mark();
  }

  /* ---- the view (rotation) ----------------------------------------------------------------- */

  function unitBounds(m, unit) {
    var b = null;
    m.eachLayer(function (l) {
      var p = l.feature && l.feature.properties;
      if (!p || !p.code || !p.level || !l.getBounds) { return; }
      if (unit && String(p.code).indexOf(unit) !== 0) { return; }
      b = b ? b.extend(l.getBounds()) : window.L.latLngBounds(l.getBounds().getSouthWest(),
                                                              l.getBounds().getNorthEast());
    });
    return b;
  }

  function flyTo(unit, bounds) {
    var m = map();
    if (!m || !window.L) { return; }
    var b = bounds ? window.L.latLngBounds(bounds) : unitBounds(m, unit);
    if (b && b.isValid()) { m.flyToBounds(b, { padding: [24, 24], duration: 1.2 }); }
  }

  function setView(v) {
    if (!S) { return; }
    v = v || {};
    var unit = v.unit || null;
    var changed = unit !== S.view.unit || !!v.board !== S.view.board;
    S.view = { unit: unit, label: v.label || "", board: !!v.board };
    var jur = byId("gs-jurisdiction");
    if (jur && v.label) { jur.textContent = v.label; }
    if (v.fly !== false) { flyTo(unit, v.bounds); }
    if (!changed) { return; }
    Object.keys(S.feeds).forEach(function (panel) {
      var f = S.feeds[panel];
      if (UNIT_FEEDS[panel] && active(f)) { f.seq++; poll(f); }
    });
  }

  /* ---- start and stop ---------------------------------------------------------------------- */

  function start(root) {
    var cfg;
    try { cfg = JSON.parse(root.getAttribute("data-feeds") || "{}"); } catch (e) { cfg = {}; }
    S = { root: root, feeds: {}, view: { unit: null, label: "", board: false }, offset: 0,
          tz: cfg.tz || "Asia/Shanghai", started: Date.now(), mapId: null };
    (cfg.panels || []).forEach(function (spec) {
      if (spec.map) { S.mapId = spec.map; }
      if (spec.delta && !(gs.workersDelta && gs.workersDelta.apply)) {
        spec = Object.assign({}, spec, { panel: spec.fallback, delta: false });
      }
      S.feeds[spec.panel] = { spec: spec, wall: S, etag: null, url: null, seq: 0, timer: null,
                              asOf: null, stale: false, status: null, failure: null,
                              degraded: [], body: null };
    });
    Object.keys(S.feeds).forEach(function (panel) { poll(S.feeds[panel]); });
    S.clock = setInterval(clock, 1000);
    clock();
    var m = map();
    if (m) { watchMap(m); }
  }

  function stop() {
    if (!S) { return; }
    Object.keys(S.feeds).forEach(function (p) { clearTimeout(S.feeds[p].timer); });
    clearInterval(S.clock);
    S = null;
  }

  /* Layers whose data follows the view (heat: zoom and bbox) re-poll after the map moved. */
  var moveTimer = null;
  function watchMap(m) {
    if (m._gsWall) { return; }
    m._gsWall = true;
    m.on("moveend", function () {
      clearTimeout(moveTimer);
      moveTimer = setTimeout(function () {
        if (!S) { return; }
        Object.keys(S.feeds).forEach(function (panel) {
          var f = S.feeds[panel];
          if (Object.keys(f.spec.view_from_map || {}).length && feedUrl(f) !== f.url) {
            f.seq++;
            poll(f);
          }
        });
      }, 600);
    });
  }

  // Dash draws the page after the assets ran, and a page change may replace it: follow it.
  setInterval(function () {
    var root = byId("gs-screen");
    if (root && (!S || S.root !== root)) { stop(); start(root); }
    if (!root && S) { stop(); }
    if (S && S.mapId) { var m = map(); if (m) { watchMap(m); } }
  }, 250);

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      var c = S && S.feeds.counters;
      if (c && c.body) { gs.wallPanels.trend(c.body.data.trend); }
    }, 400);
  });

  gs.wall = {
    setView: setView,
    onPoll: function (fn) { if (typeof fn === "function") { hooks.push(fn); } },
    state: function () {
      var out = {};
      if (!S) { return out; }
      Object.keys(S.feeds).forEach(function (p) {
        var f = S.feeds[p];
        out[p] = { asOf: f.asOf, stale: f.stale, late: late(f), etag: f.etag, status: f.status,
                   failure: f.failure, url: f.url };
      });
      return out;
    },
    view: function () { return S ? Object.assign({}, S.view) : null; },
    refresh: function () {
      if (S) { Object.keys(S.feeds).forEach(function (p) { S.feeds[p].seq++; poll(S.feeds[p]); }); }
    },
    trendFigure: function (t, scale) { return gs.wallPanels.trendFigure(t, scale); }
  };
})();
