"""What every command shares: the settings (read once, on first use), the one clock of the
command, the one-line error exit, option groups, and the ``main`` group the command groups
attach to."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from domain.clock.now import Clock, clock_for
from domain.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Per-invocation state: the settings and the clock, each built once per command."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._clock: Clock | None = None

    @property
    def settings(self) -> Settings:
        """The settings (environment and config file); a bad value is a usage error (exit 2)."""
        if self._settings is None:
            try:
                self._settings = load_settings()
            except ValueError as exc:
                raise click.UsageError(f"configuration: {exc}".replace("\n", " ")) from None
        return self._settings

    @property
    def clock(self) -> Clock:
        """The command's clock: pinned by the ``fixed_now`` setting (GRIDSCOPE_FIXED_NOW), else
        the system clock. Built once, so every "now" of the command comes from one place."""
        if self._clock is None:
            self._clock = clock_for(self.settings.fixed_now)
        return self._clock


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def local_minute(ts, tz) -> str:
    """An instant as local 'YYYY-MM-DD HH:MM' in ``tz`` for listings; '-' for None."""
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "-"


def option_group(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator for several click options, applied as if stacked in the order listed (so
    ``--help`` lists them in that order): the options that several commands share."""

    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def fail(message: str) -> None:
    """Print a one-line error and exit 1 (no traceback for operational failures)."""
    click.echo(f"gridscope: error: {message}", err=True)
    sys.exit(1)


class Instant(click.ParamType):
    """An ISO 8601 instant with a UTC offset (``2026-11-25T15:30:00+08:00``), as aware UTC."""

    name = "ISO-8601"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.fail(
                    f"{value!r} is not an ISO 8601 instant, e.g. 2026-11-25T15:30:00+08:00",
                    param,
                    ctx,
                )
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail(
                f"{value!r} has no UTC offset: add one, e.g. 2026-11-25T15:30:00+08:00", param, ctx
            )
        return parsed.astimezone(UTC)


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
