/* Chinese calendar names for Dash 4's date pickers (dcc.DatePickerSingle/DatePickerRange).
 *
 * Dash 4 formats the calendar with date-fns and takes its locale from window.dateFns.locale
 * (matched against navigator.languages, else the first one registered); with none it draws
 * English month and weekday names. No CDN may be used, so this is a minimal zh-CN locale
 * written here: the names the pickers draw (weekday headers, month names) and what date-fns
 * needs to format and parse numeric dates. Text parsing of month or weekday names is not
 * supported (the pickers type YYYY-MM-DD). Used by the grid layer's period on /map. */
(function () {
  "use strict";
  var df = window.dateFns = window.dateFns || {};
  df.locale = df.locale || {};
  if (df.locale.zhCN) { return; }

  var MONTHS = ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月",
                "十一月", "十二月"];
  var DAYS_SHORT = ["日", "一", "二", "三", "四", "五", "六"];
  var DAYS_WIDE = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];

  function pick(list) { return function (i) { return list[i]; }; }
  function none() { return null; }

  df.locale.zhCN = {
    code: "zh-CN",
    formatDistance: function (token, count) { return String(count); },
    formatRelative: function () { return "yyyy-MM-dd"; },
    formatLong: {
      date: function () { return "yyyy-MM-dd"; },
      time: function () { return "HH:mm:ss"; },
      dateTime: function () { return "{{date}} {{time}}"; }
    },
    localize: {
      ordinalNumber: function (n) { return String(n); },
      era: function (i) { return i ? "公元" : "公元前"; },
      quarter: function (q) { return "第" + q + "季度"; },
      month: function (m, o) {
        return o && o.width === "narrow" ? String(m + 1) : MONTHS[m];
      },
      day: function (d, o) {
        var w = (o && o.width) || "wide";
        return w === "wide" ? DAYS_WIDE[d] : (w === "abbreviated" ? "周" + DAYS_SHORT[d]
                                                                   : pick(DAYS_SHORT)(d));
      },
      dayPeriod: function (p) { return p === "pm" || p === "afternoon" ? "下午" : "上午"; }
    },
    match: {
      ordinalNumber: none, era: none, quarter: none, month: none, day: none, dayPeriod: none
    },
    options: { weekStartsOn: 1, firstWeekContainsDate: 4 }
  };
})();
