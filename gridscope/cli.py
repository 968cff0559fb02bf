"""The `gridscope` command. Usage errors exit with 2; operational errors print one line, exit 1."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from domain.codes import CODE_RULES, REGION_LEVELS
from domain.config import Settings, load_settings


class AppContext:
    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except ValueError as exc:
                raise click.UsageError(f"configuration: {exc}".replace("\n", " ")) from None
        return self._settings


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def fail(message: str) -> None:
    """Print a one-line error and exit 1 (no traceback for operational failures)."""
    click.echo(f"gridscope: error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """gridscope: command-centre GIS dashboard for grid-based service management."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(AppContext)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.option("--create/--no-create", default=True, help="Create the database if missing.")
@pass_app
def db_migrate(app: AppContext, create: bool) -> None:
    """Apply schema migrations (idempotent)."""
    from queries.db import DatabaseUnavailable
    from queries.migrate import SchemaMismatch, ensure_database, upgrade

    settings = app.settings
    try:
        if create and ensure_database(settings):
            click.echo("created database")
        before, after = upgrade(settings)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    if before == after:
        click.echo(f"schema already at revision {after}")
    else:
        click.echo(f"schema migrated from {before or 'empty'} to {after}")


@db.command("check")
@pass_app
def db_check(app: AppContext) -> None:
    """Check that the database is reachable and at this version's schema."""
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    try:
        with connect(app.settings) as conn:
            check_schema(conn)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo("database ok")


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
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def demo_load(app: AppContext, size: str, seed: int, reuse: bool, quiet: bool) -> None:
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
                return
        report = load_demo(settings, size, seed, echo=click.echo, progress=not quiet)
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
        )
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
    click.echo(
        f"live: created {stats.created}, advanced {stats.advanced}, "
        f"refused {stats.refused}, fixes {stats.fixes}"
    )


@main.group()
def token() -> None:
    """API tokens for the ingest API (/api/v1): each bound to a jurisdiction."""


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token (e.g. 12345-hotline).")
@click.option(
    "--jurisdiction",
    required=True,
    help="Region or grid code prefix the token may read and write (e.g. 330402).",
)
@click.option("--read-only", is_flag=True, help="The token may read but not write.")
@pass_app
def token_create(app: AppContext, name: str, jurisdiction: str, read_only: bool) -> None:
    """Create a token and print its secret (shown once; only its SHA-256 is stored)."""
    from gridscope.api.tokens import create_token
    from queries.api import jurisdiction_exists
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope, ScopeError

    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    try:
        scope = Scope(jurisdiction)
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    try:
        with connect(app.settings) as conn:
            if scope.prefix and not jurisdiction_exists(conn, scope):
                fail(f"no current region or grid code starts with {jurisdiction!r}")
            prefix, secret = create_token(conn, name.strip(), scope, not read_only)
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    mode = "read-only" if read_only else "read-write"
    click.echo(
        f"created {mode} token {prefix} '{name.strip()}' for jurisdiction "
        f"{scope.prefix or '(all)'}; the secret is shown only now:",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@pass_app
def token_list(app: AppContext) -> None:
    """List tokens (prefix, name, jurisdiction, mode, created, last used, revoked)."""
    from queries.api import list_tokens
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            rows = list_tokens(conn)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no API tokens")
        return

    def when(t):
        return t.astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M") if t else "-"

    click.echo(
        f"{'prefix':<9} {'mode':<10} {'jurisdiction':<16} {'created':<16} "
        f"{'last used':<16} {'revoked':<16} name"
    )
    for t in rows:
        mode = "read-write" if t.can_write else "read-only"
        click.echo(
            f"{t.prefix:<9} {mode:<10} {t.scope_prefix or '(all)':<16} "
            f"{when(t.created_at):<16} {when(t.last_used_at):<16} "
            f"{when(t.revoked_at):<16} {t.name}"
        )


@token.command("revoke")
@click.argument("prefix")
@pass_app
def token_revoke(app: AppContext, prefix: str) -> None:
    """Revoke the token with this prefix (the 8 hex digits after gs_); effective at once."""
    from queries.api import revoke_token
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            outcome = revoke_token(conn, prefix)
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if outcome == "unknown":
        fail(f"no API token with prefix {prefix!r}")
    click.echo(f"token {prefix} {'revoked' if outcome == 'revoked' else 'was already revoked'}")


@main.command("sweep")
@click.option(
    "--every",
    type=click.FloatRange(min=5),
    default=None,
    help="Repeat every this many seconds (default: once, for cron).",
)
@pass_app
def sweep_cmd(app: AppContext, every: float | None) -> None:
    """Record supervision steps (reminder, yellow card, red card) reached since the last sweep."""
    import time
    from datetime import UTC, datetime

    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope
    from queries.supervision import sweep

    try:
        with connect(app.settings) as conn:
            while True:
                n = sweep(conn, Scope(app.settings.jurisdiction), datetime.now(UTC))
                click.echo(f"sweep: {n} supervision step(s) recorded")
                if every is None:
                    return
                time.sleep(every)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return


@main.command("serve")
@click.option("--debug", is_flag=True, help="Dash development server with hot reload.")
@click.option("--host", default=None, help="Bind address (default from settings).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8050).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes (default from settings).",
)
@pass_app
def serve(
    app: AppContext, debug: bool, host: str | None, port: int | None, workers: int | None
) -> None:
    """Serve the dashboard (gunicorn; --debug for the Dash dev server)."""
    from datetime import UTC, datetime, timedelta

    from queries.bulk import ensure_ticket_partitions
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    settings = app.settings
    host = host or settings.host
    port = port or settings.port
    try:
        with connect(settings) as conn:
            check_schema(conn)
            now = datetime.now(UTC)
            ensure_ticket_partitions(conn, now, now + timedelta(days=62))
            conn.commit()
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo(f"gridscope serving on http://{host}:{port}/screen")
    if debug:
        from app import create_app

        create_app(settings).run(host=host, port=port, debug=True)
        return
    from gridscope.wsgi import run_gunicorn

    run_gunicorn(settings, host=host, port=port, workers=workers or settings.workers)


@main.group("import")
def import_group() -> None:
    """Import grids and tickets from files (docs/imports.md)."""


def _parent_option(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    code, sep, name = value.partition(":")
    if not sep or not code.strip() or not name.strip():
        raise click.BadParameter(
            "expected CODE:NAME, e.g. US-MA-BOS:Boston", param_hint="--create-parent"
        )
    return code.strip(), name.strip()


@import_group.command("grids")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML file whose [grids] table sets any option below (options win).",
)
@click.option("--layer", help="Layer to read (required when the file has several).")
@click.option("--code-field", help="Attribute holding the grid code.")
@click.option("--code-prefix", help="Text put before every code (e.g. the parent code + '-').")
@click.option(
    "--code-width",
    type=click.IntRange(1, 32),
    help="Zero-pad numeric codes to this width before the prefix is added.",
)
@click.option("--name-field", help="Attribute holding the grid name (default: the code).")
@click.option("--name-prefix", help="Text put before every name (e.g. 'Ward ').")
@click.option("--community-field", help="Attribute holding each grid's community code.")
@click.option(
    "--community",
    "--region-code",
    "community",
    help="Community/region code every imported grid belongs to.",
)
@click.option(
    "--create-parent",
    metavar="CODE:NAME",
    help="Create this region (without boundary) when missing and attach the grids.",
)
@click.option(
    "--parent-level",
    type=click.Choice(REGION_LEVELS),
    default=None,
    help="Level of the region made by --create-parent.  [default: community]",
)
@click.option("--type-field", help="Attribute holding comprehensive/综合 or exclusive/专属.")
@click.option("--exclusive-kind-field", help="Attribute holding the kind of exclusive grids.")
@click.option(
    "--grid-type",
    type=click.Choice(["comprehensive", "exclusive"]),
    default=None,
    help="Type of grids without a type attribute.  [default: comprehensive]",
)
@click.option("--households-field", help="Attribute holding the number of households.")
@click.option("--population-field", help="Attribute holding the population.")
@click.option(
    "--code-rule",
    type=click.Choice(sorted(CODE_RULES)),
    default=None,
    help="Code rule the codes must follow.  [default: national]",
)
@click.option(
    "--crs",
    help="CRS of the coordinates (required when the file has none; "
    "overrides a wrong one), e.g. EPSG:4490.",
)
@click.option(
    "--gcj02/--no-gcj02",
    default=None,
    help="The vertices are GCJ-02 (AutoNavi/Tencent web maps): convert to WGS84.",
)
@click.option(
    "--valid-from",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Start of the new versions, local time (default: now; first versions of "
    "new codes: since always).",
)
@click.option(
    "--min-area",
    "min_area_m2",
    type=click.FloatRange(min=0),
    default=None,
    help="Overlaps/gaps smaller than this many m² are counted, not listed. [default: 1]",
)
@click.option("--dry-run", is_flag=True, help="Check and report everything; write nothing.")
@click.option("--strict", is_flag=True, help="Refuse the whole file when any feature is refused.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the full report as JSON here.",
)
@pass_app
def import_grids_cmd(
    app: AppContext, file: Path, mapping_file: Path | None, report_path: Path | None, **options
) -> None:
    """Import grid boundaries from a GeoJSON, Shapefile or GeoPackage FILE."""
    import json

    from gridscope.imports import ImportRefused
    from gridscope.imports.grids import GridImportOptions, format_report, import_grids
    from gridscope.imports.mapping import load_grid_mapping
    from queries.db import DatabaseUnavailable

    settings = app.settings
    try:
        values = load_grid_mapping(mapping_file).values if mapping_file else {}
    except ImportRefused as exc:
        fail(str(exc))
    options["create_parent"] = _parent_option(options["create_parent"])
    values.update({k: v for k, v in options.items() if v is not None and v is not False})
    values.setdefault("dry_run", False)
    values.setdefault("strict", False)
    if not values.get("code_field"):
        raise click.UsageError("name the attribute holding the grid code: --code-field")
    rule = values.get("code_rule", "national")
    if rule != "national" and not (
        values.get("community") or values.get("community_field") or values.get("create_parent")
    ):
        raise click.UsageError(
            f"with the {rule} code rule say which community the grids belong to: --community, "
            f"--community-field or --create-parent"
        )
    if values.get("valid_from") is not None:
        values["valid_from"] = values["valid_from"].replace(tzinfo=settings.tz)
    try:
        opts = GridImportOptions(**values)
        report = import_grids(settings, file, opts, echo=click.echo)
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))
    for line in format_report(report):
        click.echo(line)
    if report_path is not None:
        try:
            report_path.write_text(
                json.dumps(report.as_json(), ensure_ascii=False, indent=1, default=str),
                encoding="utf-8",
            )
        except OSError as exc:
            fail(f"cannot write the report to {report_path}: {exc.strerror or exc}")


@import_group.command("tickets")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--mapping",
    "mapping_name",
    required=True,
    metavar="NAME_OR_PATH",
    help="A shipped mapping (open311, boston311) or the path of a mapping TOML file.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV for the refused rows with their reasons  [default: <file>.rejects.csv next to FILE]",
)
@click.option("--encoding", help="Text encoding of FILE (overrides the mapping's).")
@click.option(
    "--dry-run", is_flag=True, help="Check every row and write the rejects file; load nothing."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def import_tickets_cmd(
    app: AppContext,
    file: Path,
    mapping_name: str,
    rejects_path: Path | None,
    encoding: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Import service requests from a CSV FILE (plain or gzip) through a column mapping."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.mapping import MappingError, load_ticket_mapping, resolve_mapping
    from gridscope.imports.tickets import import_tickets
    from queries.db import DatabaseUnavailable

    settings = app.settings
    try:
        resolve_mapping(mapping_name)
    except MappingError as exc:
        raise click.BadParameter(str(exc), param_hint="--mapping") from None
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise click.BadParameter(
                f"unknown encoding {encoding!r}", param_hint="--encoding"
            ) from None
    try:
        mapping = load_ticket_mapping(mapping_name)
        r = import_tickets(
            settings,
            file,
            mapping,
            rejects_path=rejects_path,
            encoding=encoding,
            dry_run=dry_run,
            progress=not quiet,
            echo=click.echo,
        )
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))
    prefix = "dry run: " if r.dry_run else ""
    verb = "would load" if r.dry_run else "loaded"
    click.echo(
        f"{prefix}{r.file}: {r.rows:,} rows; {verb} {r.loaded:,} ({r.closed:,} closed, "
        f"{r.open:,} open of which {r.open_past_due:,} past due); "
        f"{r.already_loaded:,} already loaded ({r.namespace}); {r.rejected:,} rejected"
    )
    for reason, n in sorted(r.reasons.items(), key=lambda kv: -kv[1]):
        click.echo(f"  rejected: {reason}: {n:,}")
    if r.multi_grid_points:
        click.echo(
            f"  {r.multi_grid_points:,} point(s) lie in more than one grid (overlap or "
            f"shared edge): assigned to the lowest grid code"
        )
    if r.ignored_closing_times:
        click.echo(f"  {r.ignored_closing_times:,} open row(s) carry a closing time: ignored")
    if r.seeded_item_list:
        click.echo("  the item list was empty: seeded the default categories (DOMAIN.md §3)")
    click.echo(f"  rejects: {r.rejects_path}")
    click.echo(
        f"{prefix}{r.rows_per_s:,.0f} rows/s ({r.seconds['total']:.1f} s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in r.seconds.items() if k != "total")
        + ")"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
