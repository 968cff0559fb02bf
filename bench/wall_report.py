"""Printing the wall load benchmark's results: one line per run, a per-request breakdown, the
summary table (markdown) and the old-versus-new table when --rev ran too."""

from __future__ import annotations

import math
from typing import Any

from bench.wall_replay import Outcome, RunStats


def _ms(v: float) -> str:
    if math.isnan(v):
        return "–"
    return f"{v / 1000:.1f} s" if v >= 10_000 else f"{v:,.0f} ms"


def _s(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.1f} s"


def counts(stats: RunStats) -> dict[str, int]:
    c = stats.classes
    other = sum(n for k, n in c.items() if k not in ("2xx", "304", "4xx", "5xx", "timeout"))
    return {
        "2xx": c.get("2xx", 0),
        "304": c.get("304", 0),
        "4xx": c.get("4xx", 0),
        "5xx": c.get("5xx", 0),
        "timeouts": c.get("timeout", 0),
        "errors": other,
    }


def propagation_text(
    p: dict[str, Any] | None, period: float | None, announced: float | None = None
) -> str:
    if not p:
        return "–"
    if not p["seen"]:
        return f"0/{p['watching']} screens saw it"
    missing = p["watching"] - p["seen"]
    text = f"{_s(p['median_s'])} / {_s(p['max_s'])}"
    if period:
        text += f" (polled every {period:g} s"
        if announced and not math.isnan(announced):
            text += f", feed period {announced:g} s"
        text += ")"
    if missing:
        text += f", {missing}/{p['watching']} not seen"
    return text


def _propagation(r: dict[str, Any]) -> str:
    return propagation_text(r["propagation"], r["counters_period_s"], r.get("server_period_s"))


def run_line(r: dict[str, Any]) -> str:
    """One line for a finished run."""
    st: RunStats = r["stats"]
    c = counts(st)
    prop = _propagation(r)
    return (
        f"wall_load[{r['side']}] {r['screens']} screens for {r['duration_s']:.0f} s: "
        f"{st.requests:,} requests ({st.per_s:.1f}/s, {st.kb_per_s:,.0f} KB/s), "
        f"2xx {c['2xx']:,}, 304 {c['304']:,}, 4xx {c['4xx']}, 5xx {c['5xx']}, "
        f"timeouts {c['timeouts']}, errors {c['errors']}; "
        f"p50 {_ms(st.p50_ms)}, p95 {_ms(st.p95_ms)}, p99 {_ms(st.p99_ms)}, "
        f"max {_ms(st.max_ms)}; server CPU {r['server_cores']:.2f} cores "
        f"({r['server_cores'] / r['ncpu'] * 100:.0f} % of {r['ncpu']}), "
        f"RSS {r['rss_mib_max']:,.0f} MiB max; its PostgreSQL backends "
        f"{r['pg_cores'] * 100:.0f} % of a core, Redis {r['redis_cores'] * 100:.0f} %; "
        f"load generator {r['loadgen_core'] * 100:.0f} % "
        f"of a core (send lag p95 {r['lag_p95_ms']:.0f} ms); machine busy "
        f"{r['machine_busy'] * 100:.0f} %"
        + (f" (demo live {r['live_cores'] * 100:.0f} % of a core)" if r.get("live_cores") else "")
        + f"; propagation median/max {prop}"
    )


def per_key_lines(outcomes: list[Outcome], duration: float) -> list[str]:
    """Per distinct request: count, 304 share, p50/p95 and mean size on the wire."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.key, []).append(o)
    lines = []
    for key, items in sorted(groups.items()):
        st = RunStats.of(items, duration)
        c = counts(st)
        size = sum(o.size for o in items) / len(items) / 1024
        lines.append(
            f"    {len(items):>7,} × {key[:70]:<70} 304 {c['304'] / len(items) * 100:3.0f} %, "
            f"errors {st.errors}, p50 {_ms(st.p50_ms)}, p95 {_ms(st.p95_ms)}, "
            f"{size:,.1f} KB each"
        )
    return lines


def propagation_lines(p: dict[str, Any] | None) -> list[str]:
    """The write, and the counters answers (sent → answered: status, data version) of the
    slowest screens."""
    if not p:
        return []
    lines = [
        f"    ticket written at {p['written_s']:.1f} s (data version {p['version']}); "
        f"slowest screens' counters answers (sent → answered: status vversion):"
    ]
    for s in p["slowest"]:
        seen = "not seen" if s["seen_s"] is None else f"seen after {s['seen_s']:.1f} s"
        answers = ", ".join(
            f"{a[0]:.1f}→{a[1]:.1f}: {a[2]}" + (f" v{a[3]}" if a[3] is not None else "")
            for a in s["answers"]
        )
        lines.append(f"      screen {s['screen']} ({s['jurisdiction']}), {seen}: {answers}")
    return lines


HEAD = (
    "| screens | code | requests | req/s | 2xx | 304 | 4xx | 5xx | timeouts | errors | p50 | p95 "
    "| p99 | server CPU* | PG CPU* | server RSS | load gen CPU** "
    "| ticket on screens (median / max) |"
)


def table(results: list[dict[str, Any]]) -> str:
    """All runs as one markdown table."""
    lines = [HEAD, _rule(HEAD)]
    for r in results:
        st: RunStats = r["stats"]
        c = counts(st)
        lines.append(
            f"| {r['screens']} | {r['side']} | {st.requests:,} | {st.per_s:.1f} | "
            f"{c['2xx']:,} | {c['304']:,} | {c['4xx']} | {c['5xx']} | {c['timeouts']} | "
            f"{c['errors']} | {_ms(st.p50_ms)} | {_ms(st.p95_ms)} | {_ms(st.p99_ms)} | "
            f"{_share(r, 'server_cores')} | {_share(r, 'pg_cores')} | "
            f"{r['rss_mib_max']:,.0f} MiB | "
            f"{r['loadgen_core'] * 100:.0f} % | "
            f"{_propagation(r)} |"
        )
    ncpu = results[0]["ncpu"] if results else 1
    lines.append(
        f"\n\\* share of the machine's {ncpu} cores: gunicorn master + workers; PG = the "
        "PostgreSQL backends of the server's connections. \\*\\* share of one core."
    )
    return "\n".join(lines)


def _share(r: dict[str, Any], what: str) -> str:
    """CPU as a share of the whole machine (all cores)."""
    return f"{r[what] / r['ncpu'] * 100:.0f} %"


def _rule(head: str) -> str:
    return "|" + "---|" * (head.count("|") - 1)


def side_by_side(results: list[dict[str, Any]], old: str, new: str) -> str:
    """Old and new code path per screen count: errors, p50, p95, p99, server CPU."""
    head = (
        f"| screens | errors {old} | errors {new} | p50 {old} | p50 {new} | p95 {old} "
        f"| p95 {new} | p99 {old} | p99 {new} | server CPU {old} | server CPU {new} "
        f"| PG CPU {old} | PG CPU {new} |"
    )
    by = {(r["screens"], r["side"]): r for r in results}
    lines = [head, _rule(head)]
    for n in sorted({r["screens"] for r in results}):
        a, b = by.get((n, old)), by.get((n, new))

        def cell(r, what):
            if r is None:
                return "–"
            st = r["stats"]
            if what == "errors":
                return f"{st.errors:,}"
            if what in ("server_cores", "pg_cores"):
                return _share(r, what)
            return _ms(getattr(st, what))

        row = [str(n)]
        for what in ("errors", "p50_ms", "p95_ms", "p99_ms", "server_cores", "pg_cores"):
            row += [cell(a, what), cell(b, what)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
