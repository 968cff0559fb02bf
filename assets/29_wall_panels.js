/* gridscope wall panels: draw the data of the wall's feeds (dashboard/feeds.py sends it
 * display-ready: names, formatted numbers, bar widths) into the screen's panels
 * (dashboard/screen/layout.py). Used by 30_wall.js, which polls; nothing here asks the server.
 *
 *   gridscope.wallPanels.counters(data, label)  KPI cards (filled in place by data-key), basic
 *       data (with the 配备缺口 card and the work-calendar notice), categories, trend, ranking;
 *       `label` overrides the jurisdiction's name
 *   gridscope.wallPanels.ticker(data)          the ticker (two runs: a seamless CSS loop)
 *   gridscope.wallPanels.trend(trend)          the chart again (the scale changed)
 *   gridscope.wallPanels.trendFigure(trend, scale)  the Plotly figure (text 16 px × scale)
 *
 * Elements are built with createElement/textContent (no HTML strings, CSP-clean); the
 * containers they fill are empty in the layout, so React never reconciles them. */
(function () {
  "use strict";

  var gs = window.gridscope = window.gridscope || {};

  function byId(id) { return document.getElementById(id); }

  function h(tag, cls, text, attrs) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== undefined && attrs[k] !== null && attrs[k] !== "") {
        e.setAttribute(k, attrs[k]);
      }
    });
    return e;
  }

  function rootScale() {
    var px = parseFloat(window.getComputedStyle(document.documentElement).fontSize);
    return px > 0 ? Math.round((px / 16) * 1000) / 1000 : 1;
  }

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (!dc || !dc.set_props) { return false; }
    dc.set_props(id, props);
    return true;
  }

  /* ---- drawing the panels ---------------------------------------------------------------- */

  function drawKpis(kpis) {
    (kpis || []).forEach(function (k) {
      var card = document.querySelector("#gs-kpis .gs-kpi[data-key=\"" + k.key + "\"]");
      if (!card) { return; }
      card.className = "gs-kpi" + (k.tone ? " gs-kpi--" + k.tone : "");
      card.title = k.title || "";
      card.querySelector(".gs-kpi-value").textContent = k.value;
      card.querySelector(".gs-kpi-caption").textContent = k.caption;
    });
  }

  function stat(s) {
    var cls = "gs-stat" + (s.main ? " gs-stat--main" : "") + (s.tone ? " gs-stat--" + s.tone : "");
    var d = h("div", cls, null, { title: s.title });
    d.append(h("div", "gs-stat-value", s.value), h("div", "gs-stat-label", s.label));
    return d;
  }

  /* The wall never scrolls: the basic panel takes the height of its rows and the category
   * panel below it the rest of the column (00_screen.css .gs-col--left). When either
   * overflows (more roles, the calendar notice), the basic panel's rows are tightened in
   * steps (01_screen_basic.css), largest spacing first. */
  var FIT_STEPS = ["gs-basic--tight", "gs-basic--tighter"];

  function overflows(el) { return !!el && el.scrollHeight > el.clientHeight + 1; }

  function fitBasic() {
    var el = byId("gs-basic"), below = byId("gs-categories");
    if (!el || !el.firstChild) { return; }
    FIT_STEPS.forEach(function (c) { el.classList.remove(c); });
    for (var i = 0; i < FIT_STEPS.length && (overflows(el) || overflows(below)); i++) {
      el.classList.add(FIT_STEPS[i]);
    }
  }

  var fitTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(fitTimer);
    fitTimer = setTimeout(fitBasic, 200);
  });

  function drawBasic(b) {
    var el = byId("gs-basic");
    if (!el || !b) { return; }
    var stats = h("div", "gs-stats"), small = h("div", "gs-stats gs-stats--small");
    if (b.small.length === 4) { small.classList.add("gs-stats--four"); }
    b.stats.forEach(function (s) { stats.append(stat(s)); });
    b.small.forEach(function (s) { small.append(stat(s)); });
    var staff = h("div", "gs-staff-list");
    b.staff.forEach(function (s) {
      var row = h("div", "gs-staff");
      row.append(h("span", "gs-staff-name", s.name), h("span", "gs-staff-num", s.num),
                 h("span", "gs-staff-online", s.online));
      staff.append(row);
    });
    if (!b.staff.length) { staff.append(h("div", "gs-empty", "暂无人员")); }
    var online = h("div", "gs-online", null, { title: b.online.title });
    var track = h("span", "gs-online-track"), fill = h("span", "gs-online-fill");
    fill.style.width = b.online.share;
    track.append(fill);
    online.append(h("span", "gs-online-label", "网格员在线"), track,
                  h("span", "gs-online-num", b.online.text));
    var rows = [stats, small, staff, online];
    (b.notices || []).forEach(function (n) {
      rows.push(h("div", "gs-basic-notice", n.text, { title: n.title, role: "status" }));
    });
    el.replaceChildren.apply(el, rows);
  }

  function drawCategories(rows) {
    var el = byId("gs-categories");
    if (!el) { return; }
    if (!rows || !rows.length) { el.replaceChildren(h("div", "gs-empty", "近30日无事项")); return; }
    el.replaceChildren.apply(el, rows.map(function (c) {
      var row = h("div", "gs-bar gs-bar--c" + c.tone, null, { title: c.title });
      var track = h("span", "gs-bar-track"), fill = h("span", "gs-bar-fill");
      fill.style.width = c.width;
      track.append(fill);
      row.append(h("span", "gs-bar-name", c.name), track, h("span", "gs-bar-num", c.count),
                 h("span", "gs-bar-share", c.share));
      return row;
    }));
  }

  function drawRanking(r) {
    var el = byId("gs-ranking");
    if (!el || !r) { return; }
    if (!r.rows.length) { el.replaceChildren(h("div", "gs-empty", "暂无镇街数据")); return; }
    var head = h("div", "gs-rank gs-rank--head");
    head.append(h("span", "gs-rank-no", "名次"), h("span", "gs-rank-name", "镇（街道）"),
                h("span", "gs-rank-track"),
                h("span", "gs-rank-score", "综合指标", { title: r.head.score_title }),
                h("span", "gs-rank-rate", "按期结案率", { title: r.head.rate_title }));
    var out = [head];
    r.rows.forEach(function (x) {
      if (x.gap) { out.push(h("div", "gs-rank gs-rank--gap", "⋯")); return; }
      var cls = "gs-rank" + (x.top ? " gs-rank--top" + x.top : "") + (x.last ? " gs-rank--last" : "");
      var row = h("div", cls, null, { title: x.title });
      var track = h("span", "gs-rank-track"), bar = h("span", "gs-rank-bar");
      bar.style.width = x.width;
      track.append(bar);
      row.append(h("span", "gs-rank-no", x.rank), h("span", "gs-rank-name", x.name), track,
                 h("span", "gs-rank-score", x.score), h("span", "gs-rank-rate", x.rate));
      out.push(row);
    });
    el.replaceChildren.apply(el, out);
  }

  /* The trend chart's plotly figure at `scale` (root font / 16 px): the Python builder it
   * replaces was dashboard/screen/trend.py's trend_figure. */
  function trendFigure(t, scale) {
    var s = Math.max(0.5, Math.min(scale || 1, 6)), font = 16 * s, st = t.style || {};
    var axis = { color: st.muted, gridcolor: st.grid, zeroline: false, showline: false,
                 tickfont: { size: font, color: st.muted }, fixedrange: true };
    return {
      data: t.series.map(function (sr) {
        return { type: "scatter", mode: "lines", name: sr.name, x: t.labels, y: sr.y,
                 line: { color: sr.color, width: 2.5 * s, shape: "spline", smoothing: 0.6 },
                 fill: "tozeroy", fillcolor: sr.fill,
                 hovertemplate: "%{x} " + sr.name + " %{y} 件<extra></extra>" };
      }),
      layout: {
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
        font: { family: st.font, size: font, color: st.text },
        margin: { l: 3.4 * font, r: 0.8 * font, t: 2.2 * font, b: 2.0 * font },
        showlegend: true,
        legend: { orientation: "h", x: 1, xanchor: "right", y: 1.0, yanchor: "bottom",
                  font: { size: font, color: st.text }, bgcolor: "rgba(0,0,0,0)" },
        xaxis: Object.assign({}, axis, { tickmode: "array", tickvals: t.tickvals, showgrid: false }),
        yaxis: Object.assign({}, axis, { nticks: 5, rangemode: "tozero" }),
        hovermode: "x unified", hoverlabel: { font: { size: font } }, transition: { duration: 0 }
      }
    };
  }

  function drawTrend(t) {
    if (t) { setProps("gs-trend", { figure: trendFigure(t, rootScale()) }); }
  }

  /* The counters feed's data; `label` (the rotation's unit) names the jurisdiction when set. */
  function drawCounters(d, label) {
    var jur = byId("gs-jurisdiction");
    if (jur) { jur.textContent = label || d.jurisdiction; }
    drawKpis(d.kpis);
    drawBasic(d.basic);
    drawCategories(d.categories);
    drawTrend(d.trend);
    drawRanking(d.ranking);
    fitBasic();
  }

  function tick(item) {
    var el = h("span", "gs-tick");
    item.tags.forEach(function (t) { el.append(h("span", "gs-tag gs-tag--" + t[1], t[0])); });
    el.append(h("span", "gs-tick-no", item.no), h("span", "gs-tick-cat", item.category),
              h("span", "gs-tick-grid", item.grid), h("span", "gs-tick-stage", item.stage));
    return el;
  }

  function drawTicker(d) {
    var track = byId("gs-ticker-track");
    if (!track) { return; }
    if (!d.items.length) {
      track.replaceChildren(h("span", "gs-tick gs-tick--calm", d.calm));
      track.style.animationName = "none";
      track.style.animationDuration = "0s";
      return;
    }
    // Two identical runs, the track moved by half its width: a seamless loop.
    var runs = [0, 1].map(function (i) {
      var run = h("span", "gs-tick-run", null, i ? { "aria-hidden": "true" } : null);
      d.items.forEach(function (it) { run.append(tick(it)); });
      return run;
    });
    track.replaceChildren(runs[0], runs[1]);
    track.style.animationName = "";
    track.style.animationDuration = d.duration_s + "s";
  }

  gs.wallPanels = {
    counters: drawCounters,
    ticker: drawTicker,
    trend: drawTrend,
    trendFigure: trendFigure
  };
})();
