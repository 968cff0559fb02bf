"""`gridscope demo`: load the demo city, keep it alive."""

from __future__ import annotations

from datetime import datetime

import click

from .common import AppContext, Instant, fail, main, pass_app


@main.group()
def demo() -> None:
    """The demo city: load it, keep it alive."""


@demo.command("load")
@click.option(
    "--size",
    type=click.Choice(["small", "city", "large"]),
    default="city",
    show_default=True,
    help="small: one town, ~5k tickets; city: 22 towns, 320k tickets; large: 72 towns, 5M tickets.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    default=42,
    show_default=True,
    help="Random seed; the same seed gives the same city.",
)
@click.option(
    "--reuse", is_flag=True, help="Do nothing when a demo of this size and seed is already loaded."
)
@click.option(
    "--now",
    "now",
    type=Instant(),
    default=None,
    help="The instant the demo's history ends at, ISO 8601 with a UTC offset (e.g. "
    "2026-11-25T15:30:00+08:00). Default: now by the clock (setting fixed_now, else the "
    "system clock).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def demo_load(
    app: AppContext, size: str, seed: int, reuse: bool, now: datetime | None, quiet: bool
) -> None:
    """Generate the demo city and bulk-load it (replaces any demo data)."""
    from gridscope.demo.load import load_demo, loaded_demo
    from queries.db import DatabaseUnavailable
    from queries.migrate import SchemaMismatch

    settings = app.settings
    try:
        if reuse:
            meta = loaded_demo(settings)
            if (
                meta
                and meta.get("status") == "ready"
                and meta.get("size") == size
                and meta.get("seed") == seed
            ):
                click.echo(
                    f"demo already loaded ({size}, seed {seed}, {meta.get('tickets'):,}"
                    f" tickets, loaded {meta.get('loaded_at')}); reusing it"
                )
                _print_access(app)
                return
        report = load_demo(
            settings,
            size,
            seed,
            now=now or app.clock.now(),
            echo=click.echo,
            progress=not quiet,
        )
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo(
        f"loaded {report.size} demo (seed {report.seed}): {report.grids:,} grids, "
        f"{report.micro_grids:,} micro-grids, {report.staff:,} staff, {report.tickets:,} tickets, "
        f"{report.tasks:,} tasks, {report.events:,} events in {report.seconds_total:.1f} s "
        f"(territory {report.seconds_territory:.1f} s, simulation {report.seconds_simulate:.1f} s,"
        f" emptying + territory load {report.seconds_prepare:.1f} s,"
        f" ticket COPY {report.seconds_copy:.1f} s,"
        f" keys+indexes+rollups {report.seconds_index:.1f} s)"
    )
    click.echo(
        f"bulk load rate: {report.copy_tickets_per_s:,.0f} tickets/s with their tasks and"
        f" events (binary COPY); end to end {report.end_to_end_tickets_per_s:,.0f}"
        " tickets/s"
    )
    _print_access(app)


def _print_access(app: AppContext) -> None:
    """Create or reset the demo accounts, issue a new demo wall link and print them."""
    from gridscope.demo.accounts import access_table, ensure_demo_access
    from queries.db import DatabaseUnavailable

    try:
        access = ensure_demo_access(app.settings, app.clock.now())
    except (DatabaseUnavailable, RuntimeError) as exc:
        fail(str(exc))
    for line in access_table(access):
        click.echo(line)


@demo.command("accounts")
@pass_app
def demo_accounts(app: AppContext) -> None:
    """Reset the demo accounts (one per role) and issue a new demo wall link; print them.
    `demo load` does this too."""
    _print_access(app)


@demo.command("live")
@click.option(
    "--rate",
    type=click.FloatRange(0, 6000),
    default=6.0,
    show_default=True,
    help="New tickets per minute.",
)
@click.option(
    "--steps",
    type=click.FloatRange(0, 60000),
    default=40.0,
    show_default=True,
    help="Workflow steps per minute.",
)
@click.option(
    "--ping",
    type=click.FloatRange(1, 600),
    default=15.0,
    show_default=True,
    help="Seconds between a worker's GPS fixes.",
)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=1, show_default=True)
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=None,
    help="Stop after this many seconds (default: run until Ctrl-C).",
)
@pass_app
def demo_live(
    app: AppContext, rate: float, steps: float, ping: float, seed: int, duration: float | None
) -> None:
    """Keep the demo alive in real time: new tickets, workflow steps, worker GPS fixes."""
    from gridscope.demo.live import run_live
    from queries.db import DatabaseUnavailable

    try:
        stats = run_live(
            app.settings,
            rate_per_min=rate,
            steps_per_min=steps,
            ping_interval_s=ping,
            seed=seed,
            duration_s=duration,
            echo=click.echo,
            clock=app.clock,
        )
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
    click.echo(
        f"live: created {stats.created}, advanced {stats.advanced}, "
        f"refused {stats.refused}, fixes {stats.fixes}"
    )
