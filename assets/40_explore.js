/* The analyst workbench's map (/explore): unit choropleth style and tooltips, ticket points.
 *
 * window.gsExplore.unitStyle(feature, context)   style of a unit; hideout {counts, max}
 * window.gsExplore.unitTooltip(feature, layer)   name and count on hover
 * window.gsExplore.point(feature, latlng)         a ticket as a small circle, by its clock
 *
 * Units with no ticket are drawn hatched-grey ("无事件") rather than in the palette's
 * lightest colour, so "none" never reads as "few". No network access. */
(function () {
  "use strict";

  var PALETTE = ["#0d3b66", "#145a9c", "#1f78c8", "#3a96e0", "#62b2ef", "#ffd166", "#ff9f43",
                 "#ff5d5d"];
  var CLOCK = { overdue: "#ff5d5d", warning: "#ffb547", closed_late: "#ff8fa3",
                closed_on_time: "#3ee0a0", normal: "#3cc8ff", none: "#8fb0d8" };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function colour(n, max) {
    if (!max || !n) { return null; }
    var i = Math.min(PALETTE.length - 1, Math.floor(Math.sqrt(n / max) * PALETTE.length));
    return PALETTE[i];
  }

  function unitStyle(feature, context) {
    var h = (context && context.hideout) || {};
    var code = feature.properties && feature.properties.code;
    var n = (h.counts || {})[code] || 0;
    var c = colour(n, h.max);
    if (!c) {
      return { color: "#5b7aa0", weight: 1, dashArray: "3 3", fillColor: "#40506a",
               fillOpacity: 0.25 };
    }
    return { color: "#9cd3ff", weight: 1, fillColor: c, fillOpacity: 0.62 };
  }

  function unitTooltip(feature, layer) {
    var p = feature.properties || {};
    layer.bindTooltip(
      "<b>" + esc(p.name) + "</b><br>" + esc(p.code) +
        (p.n == null ? "" : "<br>" + Number(p.n).toLocaleString() + " 件") +
        "<br><i>点击进入</i>",
      { sticky: true, className: "exp-tip" }
    );
  }

  function point(feature, latlng) {
    var clock = (feature.properties || {}).clock;
    return window.L.circleMarker(latlng, {
      radius: 4, weight: 1, color: "#021024", fillColor: CLOCK[clock] || "#3cc8ff",
      fillOpacity: 0.9
    });
  }

  window.gsExplore = { unitStyle: unitStyle, unitTooltip: unitTooltip, point: point };
})();
