/* gridscope wall rotation (轮播, issue #10): cycles the views the server expanded for this wall
 * (dashboard/screen/rotation.py, JSON in #gs-rotation[data-config]) with their durations.
 *
 * - Each view goes to window.gridscope.wall.setView({unit, label, board, bounds}) (assets/
 *   30_wall.js: feeds switch to `unit`, the map flies there and keeps refreshing). Without
 *   gridscope.wall this file does nothing.
 * - Codes come from the server only; nothing here makes one up.
 * - A discreet indicator over the map: "轮播 2/5 · 南湖区 建设街道" and a thin progress line.
 * - A click, a key, the wheel, a touch or a real mouse move pauses the rotation for
 *   `pause_s` (60 s) after the last one; it then shows the current view again and goes on.
 * - The overdue board (board: true): 30_wall.js polls GET /feed/board[?unit=…] while the view
 *   shows it and hands each body to gridscope.wall.onPoll hooks; this file draws it into
 *   #gs-board (data-feed="board", so the wall's freshness rule marks its "as of" time and
 *   its staleness like any panel; the last rows stay, never blank).
 * No request of its own; no globals besides window.gridscope.rotation. */
(function () {
  "use strict";

  var MOVE_PX = 8;  // a mouse move shorter than this is jitter, not a person

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var state = {
    config: null, steps: [], index: -1, timer: null, paused: false, pauseTimer: null,
    pauseUntil: 0, countdown: null, indicator: null, started: false,
    board: { shown: false, unit: null, dataUnit: undefined }
  };

  function wall() {
    var g = window.gridscope;
    return g && g.wall && typeof g.wall.setView === "function" ? g.wall : null;
  }

  /* ------------------------------------------------------------ indicator */

  function indicator() {
    if (state.indicator && document.body.contains(state.indicator)) { return state.indicator; }
    var host = document.querySelector(".gs-map-wrap--screen") ||
      document.querySelector(".gs-col--map") || document.body;
    var el = document.createElement("div");
    el.className = "gs-rotation-status" + (host === document.body ? " gs-rotation-status--fixed" : "");
    el.setAttribute("role", "status");
    el.innerHTML = '<span class="gs-rotation-text"></span><span class="gs-rotation-bar"><i></i></span>';
    host.appendChild(el);
    state.indicator = el;
    return el;
  }

  function showProgress(text, seconds, paused) {
    var el = indicator();
    el.querySelector(".gs-rotation-text").textContent = text;
    el.classList.toggle("gs-rotation-status--paused", !!paused);
    var bar = el.querySelector(".gs-rotation-bar i");
    // Restart the CSS transition: width 0 now, 100 % over the step's duration.
    bar.style.transition = "none";
    bar.style.width = "0%";
    void bar.offsetWidth;
    if (!paused && seconds > 0) {
      bar.style.transition = "width " + seconds + "s linear";
      bar.style.width = "100%";
    }
  }

  function stepText(i) {
    var s = state.steps[i];
    return "轮播 " + (i + 1) + "/" + state.steps.length + " · " + s.label;
  }

  /* ------------------------------------------------------------ the overdue board */

  function boardEl() { return document.getElementById("gs-board"); }

  function cell(cls, text) {
    return '<div class="' + cls + '" title="' + esc(text) + '">' + esc(text) + "</div>";
  }

  /* One ticket, two lines: what (category; ticket no), where (grid; stage · lead department),
   * how late (overdue by, or time left; the ladder step). */
  function rowHtml(r) {
    var stage = r.stage + (r.department ? " · " + r.department : "");
    return '<tr class="gs-board-row gs-board-row--' + esc(r.step_key) + '">' +
      '<td class="gs-board-what">' + cell("gs-board-cat", r.category) +
      cell("gs-board-no", r.no) + "</td>" +
      '<td class="gs-board-where">' + cell("gs-board-place", r.place) +
      cell("gs-board-stage", stage) + "</td>" +
      '<td class="gs-board-due">' + cell("gs-board-span", r.due_text) +
      '<div class="gs-board-step"><span title="' + esc(r.step_name + " · 截止 " + r.due_local) +
      '">' + esc(r.step_short || "—") + "</span></div></td></tr>";
  }

  function groupHtml(g) {
    var body = g.rows.map(rowHtml).join("");
    if (!g.rows.length && g.empty) {
      body = '<tr class="gs-board-empty"><td colspan="3">' + esc(g.empty) + "</td></tr>";
    }
    var more = g.more_text ? '<div class="gs-board-more">' + esc(g.more_text) + "</div>" : "";
    return '<header class="gs-board-head"><h3 class="gs-board-title">' + esc(g.title) + "</h3>" +
      '<span class="gs-board-count">' + g.count + " 件</span></header>" +
      '<table class="gs-board-table"><colgroup><col class="gs-board-c1"><col class="gs-board-c2">' +
      '<col class="gs-board-c3"></colgroup>' +
      "<thead><tr><th>事件</th><th>网格 · 环节</th><th>" + esc(g.due_head) +
      "</th></tr></thead><tbody>" + body + "</tbody></table>" + more;
  }

  /* Draw a feed body ({panel, as_of_ms, period_s, stale, data}) into #gs-board: the title and
   * the overdue table over the left column, the warning table over the right one. */
  function renderBoard(feed) {
    var el = boardEl();
    if (!el || !feed || !feed.data || !feed.data.groups) { return; }
    var d = feed.data, g = d.groups;
    var banner = '<header class="gs-board-banner"><h2 class="gs-board-name">' + esc(d.title) +
      '</h2><span class="gs-board-summary">' + esc(d.summary) + "</span></header>";
    var foot = '<footer class="gs-board-foot">' +
      '<span class="gs-asof gs-board-asof" data-feed="board">更新 —</span></footer>';
    el.innerHTML =
      '<section class="gs-board-side gs-board-side--left">' + banner + (g[0] ? groupHtml(g[0]) : "") +
      "</section>" +
      '<section class="gs-board-side gs-board-side--right">' + (g[1] ? groupHtml(g[1]) : "") + foot +
      "</section>";
  }

  /* A poll of the wall (30_wall.js onPoll): draw the board's body when it is this view's. */
  function onPoll(panel, body, info) {
    var b = state.board;
    if (panel !== "board" || !body || !b.shown) { return; }
    var unit = (info && info.unit) || null;
    if (unit !== b.unit) { return; }  // an answer for the view before
    b.dataUnit = unit;
    renderBoard(body);
  }

  function showBoard(unit) {
    var b = state.board, el = boardEl();
    if (!el) { return; }
    b.shown = true;
    b.unit = unit;
    // Another area's rows must not stand under this view's label, even for a moment.
    if (b.dataUnit !== unit) {
      el.innerHTML = '<div class="gs-board-side gs-board-side--left gs-board-wait">超期督办榜 · 加载中</div>';
      b.dataUnit = undefined;
    }
    el.hidden = false;
  }

  function hideBoard() {
    var el = boardEl();
    state.board.shown = false;
    if (el) { el.hidden = true; }
  }

  /* ------------------------------------------------------------ the cycle */

  function apply(i) {
    var s = state.steps[i], w = wall();
    if (!s || !w) { return; }
    w.setView({ unit: s.unit || null, label: s.label, board: !!s.board, bounds: s.bounds || null });
    if (s.board) { showBoard(s.unit || null); } else { hideBoard(); }
  }

  function schedule() {
    clearTimeout(state.timer);
    var s = state.steps[state.index];
    state.timer = setTimeout(next, s.seconds * 1000);
    showProgress(stepText(state.index), s.seconds, false);
  }

  function next() {
    if (state.paused || !state.steps.length) { return; }
    state.index = (state.index + 1) % state.steps.length;
    apply(state.index);
    schedule();
  }

  /* ------------------------------------------------------------ pausing */

  function resume() {
    state.paused = false;
    clearInterval(state.countdown);
    apply(state.index);  // the operator may have moved the map: show the view again
    schedule();
  }

  function pause() {
    if (!state.started) { return; }
    var ms = (state.config.pause_s || 60) * 1000;
    state.pauseUntil = Date.now() + ms;
    clearTimeout(state.pauseTimer);
    state.pauseTimer = setTimeout(resume, ms);
    if (state.paused) { return; }
    state.paused = true;
    clearTimeout(state.timer);
    var tell = function () {
      var left = Math.max(0, Math.ceil((state.pauseUntil - Date.now()) / 1000));
      showProgress("轮播暂停 · " + left + " 秒后继续 · " + state.steps[state.index].label, 0, true);
    };
    tell();
    clearInterval(state.countdown);
    state.countdown = setInterval(tell, 1000);
  }

  var last = null;
  function onMove(e) {
    if (last && Math.abs(e.clientX - last[0]) + Math.abs(e.clientY - last[1]) >= MOVE_PX) { pause(); }
    last = [e.clientX, e.clientY];
  }

  function listen() {
    ["pointerdown", "keydown", "wheel", "touchstart"].forEach(function (name) {
      window.addEventListener(name, pause, { capture: true, passive: true });
    });
    window.addEventListener("mousemove", onMove, { capture: true, passive: true });
  }

  /* ------------------------------------------------------------ start */

  function start(el) {
    var config;
    try { config = JSON.parse(el.getAttribute("data-config") || "{}"); } catch (e) { config = {}; }
    state.config = config;
    (config.notes || []).forEach(function (n) { console.info("gridscope rotation: " + n); });
    if (!wall()) {
      console.info("gridscope rotation: window.gridscope.wall is missing; not rotating");
      return;
    }
    state.steps = (config.steps || []).filter(function (s) { return s && s.seconds > 0; });
    if (!state.steps.length) { return; }
    state.started = true;
    if (typeof wall().onPoll === "function") { wall().onPoll(onPoll); }
    listen();
    state.index = -1;
    next();
  }

  /* Dash renders the page after load: wait for the element (and for 30_wall.js's API). */
  var tries = 0;
  var waiter = setInterval(function () {
    var el = document.getElementById("gs-rotation");
    tries += 1;
    // 30_wall.js starts on the same render: set no view before it runs (it would be lost).
    var w = wall(), ready = w && (typeof w.view !== "function" || w.view() !== null);
    if (el && (ready || tries > 120)) {
      clearInterval(waiter);
      start(el);
    } else if (!document.getElementById("gs-screen") && tries > 240) {
      clearInterval(waiter);  // not the wall page
    }
  }, 250);

  window.gridscope = window.gridscope || {};
  window.gridscope.rotation = {
    renderBoard: renderBoard,
    state: function () {
      return {
        index: state.index, count: state.steps.length, paused: state.paused,
        step: state.steps[state.index] || null, board: state.board.shown
      };
    }
  };
})();
