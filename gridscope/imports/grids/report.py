"""A grid import's report as lines for the terminal; the lines it shares with the micro-grid
import's report (``micro.report``)."""

from __future__ import annotations

from typing import Any

from .options import GridImportReport


def file_line(r: Any) -> str:
    """The file, its features and its CRS (and the one used when that differs)."""
    return f"{r.file}: {r.features} feature(s); CRS {r.crs.get('file') or 'none'}" + (
        f" → used {r.crs['used']}" if r.crs.get("used") != r.crs.get("file") else ""
    )


def repair_lines(r: Any) -> list[str]:
    """One line per geometry made valid."""
    lines = []
    for rep in r.repaired:
        extra = f"; dropped {rep['dropped_parts']}" if rep["dropped_parts"] else ""
        lines.append(
            f"  repaired feature {rep['feature']} ({rep['code']}): {rep['reason']}"
            f" → valid, {rep['area_m2']:,.1f} m²{extra}"
        )
    return lines


def decision_lines(r: Any) -> list[str]:
    """The decision stored on the new versions, when one was given."""
    if not r.decision_no:
        return []
    return [
        f"  decision {r.decision_no}, effective {r.valid_from or 'now'}: stored on"
        f" {len(r.inserted) + len(r.new_versions)} new version(s)"
    ]


def needs_decision_lines(r: Any, noun: str) -> list[str]:
    """A dry run's warning that a real run would be refused for want of a decision."""
    if not r.needs_decision:
        return []
    more = " …" if len(r.needs_decision) > 5 else ""
    return [
        f"  a real run would be refused: {len(r.needs_decision)} current {noun}(s) change"
        f" ({', '.join(r.needs_decision[:5])}{more}); give --decision NO and --valid-from DATE"
    ]


def format_report(r: GridImportReport) -> list[str]:
    """The report as lines for the terminal."""
    lines = [file_line(r)]
    lines += [f"  note: {n}" for n in r.crs.get("notes", [])]
    if r.created_parent:
        lines.append(
            f"  parent region {r.created_parent} {'would be created' if r.dry_run else 'created'}"
        )
    lines += repair_lines(r)
    for rej in r.rejected:
        lines.append(f"  REJECTED feature {rej['feature']} ({rej['code'] or '-'}): {rej['reason']}")
    for w in r.warnings:
        lines.append(f"  warning: {w}")
    for community, c in r.communities.items():
        o, g = c["overlaps"], c["gaps"]
        lines.append(
            f"  community {community} ({c['parent']}): {c['grids_in_file']} grid(s) in "
            f"file, {len(c['other_current_grids'])} other current; "
            f"{o['count']} overlap(s) {o['total_m2']:,.1f} m², "
            f"{g['count']} gap(s) {g['total_m2']:,.1f} m²"
        )
        for item in o["listed"]:
            lines.append(
                f"    overlap {item['grids'][0]} × {item['grids'][1]}: "
                f"{item['area_m2']:,.1f} m² at {item['at'][0]}, {item['at'][1]}"
            )
        for item in g["listed"]:
            lines.append(
                f"    gap ({item['kind']}): {item['area_m2']:,.1f} m² at "
                f"{item['at'][0]}, {item['at'][1]}"
            )
        for kind, part in (("overlap", o), ("gap", g)):
            if part["not_listed"]:
                lines.append(f"    … and {part['not_listed']} more {kind}(s)")
            if part["below_min_area"]:
                lines.append(
                    f"    {part['below_min_area']} {kind} sliver(s) below the minimum "
                    f"area, {part['below_min_area_total_m2']:,.3f} m² in all"
                )
        out = c.get("outside_parent")
        if out and out["count"]:
            lines.append(
                f"    {out['count']} part(s) outside the parent, {out['total_m2']:,.1f} m²"
            )
    lines += decision_lines(r)
    if r.micro_grids_outside:
        shown = ", ".join(
            f"{m['micro_grid']} {m['outside_m2']:,.1f} m²" for m in r.micro_grids_outside[:5]
        )
        more = " …" if len(r.micro_grids_outside) > 5 else ""
        lines.append(
            f"  warning: {len(r.micro_grids_outside)} micro-grid(s) stick out of their changed"
            f" grid ({shown}{more}): adjust them with `gridscope import micro-grids` under the"
            f" same decision"
        )
    lines += needs_decision_lines(r, "grid")
    lines.append(
        f"{'dry run: ' if r.dry_run else ''}{len(r.inserted)} new, {len(r.new_versions)} changed"
        f" (old version closed, new version added), {len(r.unchanged)} unchanged,"
        f" {len(r.rejected)} rejected"
    )
    if r.dry_run:
        lines.append("dry run: nothing was written")
    return lines
