"""A micro-grid import's report as lines for the terminal."""

from __future__ import annotations

from ..grids.report import decision_lines, file_line, needs_decision_lines, repair_lines
from .options import MicroGridImportReport

SHOWN = 10  # grids, refusals and pieces listed; the rest are counted (all are in --report)


def format_report(r: MicroGridImportReport) -> list[str]:
    """The report as lines for the terminal."""
    lines = [file_line(r)]
    lines.append("  fields: " + ", ".join(f"{k} = {v!r}" for k, v in r.fields.items()))
    lines += [f"  note: {n}" for n in r.crs.get("notes", [])]
    lines += repair_lines(r)
    for w in r.warnings:
        lines.append(f"  warning: {w}")
    n = r.nesting
    if n:
        tol = f"{n['tolerance_m2']:g} m²" + (
            f" or {n['tolerance_share']:.2%}" if n["tolerance_share"] else ""
        )
        lines.append(
            f"  nesting: {n['checked']} checked against their grid: {n['nested']} inside,"
            f" {n['within_tolerance']} sticking out within the tolerance ({tol};"
            f" {n['within_tolerance_total_m2']:,.1f} m² in all, at most"
            f" {n['within_tolerance_max_m2']:,.1f} m²) accepted unclipped,"
            f" {n['refused']} refused ({n['refused_outside_total_m2']:,.1f} m² outside)"
        )
    sticking = sorted(
        (x for x in r.rejected if x.get("outside_m2") is not None),
        key=lambda x: -x["outside_m2"],
    )
    others = [x for x in r.rejected if x.get("outside_m2") is None]
    for rej in others[:SHOWN] + sticking[:SHOWN]:
        lines.append(f"  REJECTED feature {rej['feature']} ({rej['code'] or '-'}): {rej['reason']}")
    hidden = max(0, len(others) - SHOWN) + max(0, len(sticking) - SHOWN)
    if hidden:
        lines.append(f"  … and {hidden} more refused (all in the rejects file)")
    listed = [
        (code, g) for code, g in r.grids.items() if g["overlaps"]["count"] or g["gaps"]["count"]
    ]
    overlaps = sum(g["overlaps"]["count"] for g in r.grids.values())
    o_m2 = sum(g["overlaps"]["total_m2"] for g in r.grids.values())
    gaps = sum(g["gaps"]["count"] for g in r.grids.values())
    g_m2 = sum(g["gaps"]["total_m2"] for g in r.grids.values())
    slivers = sum(
        g["overlaps"]["below_min_area"] + g["gaps"]["below_min_area"] for g in r.grids.values()
    )
    if r.grids:
        lines.append(
            f"  {len(r.grids)} grid(s): {overlaps} overlap(s) between micro-grids"
            f" {o_m2:,.1f} m², {gaps} part(s) of grids no accepted micro-grid covers"
            f" {g_m2:,.1f} m²"
            + (f"; {slivers} sliver(s) below the minimum area" if slivers else "")
        )
    worst = sorted(
        listed, key=lambda cg: -(cg[1]["overlaps"]["total_m2"] + cg[1]["gaps"]["total_m2"])
    )
    for code, g in worst[:SHOWN]:
        o, u = g["overlaps"], g["gaps"]
        lines.append(
            f"    grid {code}: {g['micro_grids_in_file']} in file,"
            f" {len(g['other_current_micro_grids'])} other current; {o['count']} overlap(s)"
            f" {o['total_m2']:,.1f} m², {u['count']} uncovered {u['total_m2']:,.1f} m²"
        )
        for item in o["listed"][:3]:
            lines.append(
                f"      overlap {item['grids'][0]} × {item['grids'][1]}: {item['area_m2']:,.1f} m²"
                f" at {item['at'][0]}, {item['at'][1]}"
            )
        for item in u["listed"][:3]:
            lines.append(
                f"      uncovered: {item['area_m2']:,.1f} m² at {item['at'][0]}, {item['at'][1]}"
            )
    if len(worst) > SHOWN:
        lines.append(
            f"    … and {len(worst) - SHOWN} more grid(s) with overlaps or uncovered parts"
        )
    lines += decision_lines(r)
    lines += needs_decision_lines(r, "micro-grid")
    lines.append(f"  rejects: {r.rejects_path}")
    prefix = "dry run: " if r.dry_run else ""
    lines.append(
        f"{prefix}{len(r.inserted)} new, {len(r.new_versions)} changed (old version closed, new"
        f" version added), {len(r.unchanged)} unchanged, {len(r.rejected)} rejected"
    )
    total = r.seconds.get("total", 0.0)
    lines.append(
        f"{prefix}{r.rows_per_s:,.0f} features/s ({total:.1f} s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in r.seconds.items() if k != "total")
        + ")"
    )
    if r.dry_run:
        lines.append("dry run: nothing was written")
    return lines
