/* gridscope client code: one namespace, window.gridscope.
 * - gridStyle / gridHover / gridTooltip: dash-leaflet GeoJSON functions, referenced from Python as
 *   {"variable": "gridscope.gridStyle"}; dash-leaflet calls them with the component props
 *   (hence `context.hideout`) appended as the last argument.
 * - measureScale / rootScale: the wall's scale (root font / 16 px). The wall's polling, clock
 *   and freshness marks are in 30_wall.js.
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

    /* Root font size / 16 px: 1 at 1080p, 2 at 2160p (the wall's JS sizes the chart by it). */
    measureScale: function () { return rootScale(); },
    rootScale: rootScale
  };

  window.gridscope = gridscope;
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.gridscope = gridscope;
})();
