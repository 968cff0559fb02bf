/* The analyst map as of a date (dashboard/map/asof.py): the badge names the boundary version
 * shown and the page URL carries the day (?asof=YYYY-MM-DD), replaced in place so that Dash's
 * page routing does not rebuild the map. The server checks the day again before using it.
 * No network access, no globals besides window.gridscope. */
(function () {
  "use strict";
  var gs = window.gridscope = window.gridscope || {};

  gs.boundaryAsOf = function (day) {
    var ok = typeof day === "string" && /^\d{4}-\d{2}-\d{2}$/.test(day);
    try {
      var url = new URL(window.location.href);
      if (ok) { url.searchParams.set("asof", day); } else { url.searchParams.delete("asof"); }
      window.history.replaceState(window.history.state, "", url.toString());
    } catch (e) { /* an old browser keeps its URL; the map still follows the picker */ }
    return [
      "边界版本：" + (ok ? day : "当前"),
      "gs-boundary-badge" + (ok ? " gs-boundary-badge--past" : "")
    ];
  };
}());
