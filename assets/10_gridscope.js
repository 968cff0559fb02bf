/* gridscope client code: one namespace, window.gridscope.
 * - gridStyle / gridHover / gridTooltip: dash-leaflet GeoJSON functions, referenced from Python as
 *   {"variable": "gridscope.gridStyle"}; dash-leaflet calls them with the component props
 *   (hence `context.hideout`) appended as the last argument.
 * - measureScale / clockOffset / tick: clientside callbacks (aliased into dash_clientside).
 * No network access, no globals besides window.gridscope. */
(function () {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function countOf(feature, context) {
    var h = (context && context.hideout) || {};
    var code = feature && feature.properties ? feature.properties.code : null;
    return (h.values && code != null && h.values[code]) || 0;
  }

  function rootScale() {
    var px = parseFloat(window.getComputedStyle(document.documentElement).fontSize);
    return px > 0 ? Math.round((px / 16) * 1000) / 1000 : 1;
  }

  var fmtCache = {};
  function clockText(tz, ms) {
    var key = tz || "Asia/Shanghai";
    if (!fmtCache[key]) {
      fmtCache[key] = new Intl.DateTimeFormat("zh-CN", {
        timeZone: key, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
    }
    var parts = {};
    fmtCache[key].formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.weekday + " " +
      parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  var painted = {};

  var gridscope = {
    painted: painted,

    /* Fill by today's count: class i when value >= breaks[i]; 0 is drawn nearly empty. */
    gridStyle: function (feature, context) {
      var h = (context && context.hideout) || {};
      var v = countOf(feature, context);
      var breaks = h.breaks || [], colors = h.colors || [];
      var fill = h.zero || "#0c2038";
      for (var i = 0; i < breaks.length; i++) {
        if (v >= breaks[i]) { fill = colors[i] || fill; }
      }
      // What each grid was last painted with: lets a wall operator (and the browser tests)
      // check from the console that every polygon is drawn and recoloured.
      if (feature && feature.properties) { painted[feature.properties.code] = v; }
      return {
        fillColor: fill, fillOpacity: v > 0 ? 0.82 : 0.55,
        color: h.line || "#3f86c6", weight: h.weight || 1, opacity: 0.75
      };
    },

    gridHover: function (feature, context) {
      var h = (context && context.hideout) || {};
      return { weight: 3 * (h.weight || 1), color: "#ffffff", opacity: 1 };
    },

    /* Tooltip: grid name, code and today's count (properties hold code and name only). */
    gridTooltip: function (feature, layer, context) {
      var p = feature.properties || {};
      layer.bindTooltip(
        "<div class=\"gs-tt-name\">" + esc(p.name) + "</div>" +
        "<div class=\"gs-tt-code\">" + esc(p.code) + "</div>" +
        "<div class=\"gs-tt-count\">今日上报 " + countOf(feature, context) + " 件</div>",
        { sticky: true, className: "gs-tooltip", direction: "top", opacity: 1 }
      );
    },

    measureScale: function () { return rootScale(); },

    /* Offset of the server clock against this browser's clock, learnt at each refresh, so the
     * wall shows the server's time even when the kiosk PC has no NTP on the intranet. */
    clockOffset: function (status) {
      if (!status || !status.server_ms) { return window.dash_clientside.no_update; }
      return status.server_ms - Date.now();
    },

    /* Every second: the clock, and the stale marker when the last refresh failed or is older
     * than three refresh intervals (e.g. the server is unreachable). */
    tick: function (_n, status, offset) {
      var el = document.getElementById("gs-clock");
      var tz = (el && el.getAttribute("data-tz")) || "Asia/Shanghai";
      var now = Date.now() + (offset || 0);
      var stale = false, text = "数据未更新";
      if (status && status.ok === false) {
        stale = true; text = "刷新失败 · 显示上次数据";
      } else if (status && status.as_of_ms && status.interval_ms &&
                 now - status.as_of_ms > 3 * status.interval_ms + 5000) {
        stale = true; text = "数据未更新 " + Math.round((now - status.as_of_ms) / 60000) + " 分钟";
      }
      return [clockText(tz, now), !stale, text];
    }
  };

  /* Re-measure the scale when the window changes size (a wall controller may switch modes). */
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (window.dash_clientside && window.dash_clientside.set_props &&
          document.getElementById("gs-screen")) {
        window.dash_clientside.set_props("gs-scale", { data: rootScale() });
      }
    }, 400);
  });

  window.gridscope = gridscope;
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.gridscope = gridscope;
})();
