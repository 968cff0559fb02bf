"""Setting up the wall load benchmark: the database it talks to, the jurisdictions of the mix,
the propagation ticket's site, the data version, and the servers and captures of each side."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import wall_capture, wall_server


def database_url(value: str | None) -> str:
    if not value:
        raise SystemExit("--database (or DATABASE_URL) is required")
    if "://" in value:
        return value
    from bench.common import bench_settings

    return bench_settings(value).database_url


def with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def settings_for(db_url: str):
    from domain.config import Settings

    return Settings(database_url=db_url)


def resolve_jurisdictions(db_url: str, spec: str) -> list[str]:
    """The codes of the mix (see --jurisdictions)."""
    from queries.admin import region_choices, top_region
    from queries.db import connect
    from queries.scope import Scope

    out: list[str] = []
    with connect(settings_for(db_url)) as conn:
        regions = [code for code, _name in region_choices(conn, Scope(""))]
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            if part == "city":
                top = top_region(conn, Scope(""), "city")
                if top is None:
                    raise SystemExit("no city region in the database")
                out.append(top[0])
            elif part.startswith("towns:"):
                out += [c for c in regions if len(c) == 9][: int(part.split(":", 1)[1])]
            else:
                out.append(part)
    return list(dict.fromkeys(out))


def ticket_site(db_url: str, jurisdiction: str, seed: int) -> dict[str, Any]:
    """A point inside ``jurisdiction`` and an admitted category for the propagation ticket."""
    from queries.db import connect
    from queries.live import admitted_categories, random_points
    from queries.scope import Scope

    with connect(settings_for(db_url)) as conn:
        point = random_points(conn, Scope(jurisdiction), 1, seed)[0]
        category = next(c for c in admitted_categories(conn) if len(c) == 4)
    return {
        "lon": point["lon"],
        "lat": point["lat"],
        "grid": point["grid_code"],
        "category": category,
    }


def backend_pids(db_url: str, ports: set[int]) -> list[int]:
    """PostgreSQL backend pids of the connections whose client port is in ``ports``."""
    if not ports:
        return []
    from queries.db import connect

    with connect(settings_for(db_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (sorted(ports),)
        ).fetchall()
    return [int(r[0]) for r in rows]


def read_version(db_url: str) -> int:
    from queries.cache import data_version
    from queries.db import connect

    with connect(settings_for(db_url), autocommit=True) as conn:
        return data_version(conn)


def serve_revision(rev, label, redis_url, args, db_url, port=None):
    """(server, worktree or None): the working tree (``rev`` None) or a worktree of ``rev``,
    served. An older revision whose migrations stop short of the database's is served with its
    schema check off, which is sound only while the newer migrations are additive: said aloud."""
    from queries.db import connect
    from queries.migrate import current_revision

    tree = wall_server.add_worktree(rev) if rev else None
    skip = False
    if tree is not None:
        with connect(settings_for(db_url)) as conn:
            at = current_revision(conn) or ""
        knows = wall_server.schema_heads(tree)
        if knows < at:
            skip = True
            print(
                f"note: the database is at schema {at}, {rev} knows up to {knows}: serving "
                f"{rev} with its schema check off (the newer migrations must be additive)"
            )
    try:
        server = wall_server.start_server(
            tree or wall_server.ROOT,
            db_url,
            redis_url,
            args.workers,
            label,
            args.out,
            port,
            skip_schema_check=skip,
        )
    except BaseException:
        if tree is not None:
            wall_server.remove_worktree(tree)
        raise
    return server, tree


def get_capture(server: wall_server.Server, wall_path: str, path: str | None, args, label: str):
    if path:
        cap = wall_capture.load(path)
    else:
        print(f"capturing {label} for {args.capture_seconds:.0f} s at {server.url} …", flush=True)
        cap = wall_capture.capture(server.url, wall_path, args.capture_seconds, label)
        dest = args.out / f"capture-{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        wall_capture.save(cap, dest)
        print(f"  saved {dest}")
    print(wall_capture.describe(cap))
    if not cap["periodic"]:
        raise SystemExit(f"the {label} capture holds no periodic request: nothing to replay")
    return cap
