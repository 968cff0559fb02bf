"""python -m bench [load|feed|api|imports|roster|layers|layerslive|access|workersdelta|explore|
analytics|wall|all]
[options];
see each module. ``screen`` is another name for ``feed`` (the wall's refresh went from Dash
callbacks to the feeds, issue #10; bench/feed.py measures both paths).

python -m bench compare --base REV [--rounds N] -- BENCH [ARGS...] runs BENCH on git revision REV
and on the working tree, alternately (bench/compare.py).
"""

import sys


def main() -> None:
    args = sys.argv[1:]
    which = args[0] if args and not args[0].startswith("-") else "all"
    if which == "compare":
        from bench import compare

        compare.main(args[1:])
        return
    rest = args[1:] if args and not args[0].startswith("-") else args
    if which == "wall":  # starts servers and runs for minutes: never part of "all"
        from bench import wall_load

        wall_load.main(rest)
        return
    if which in ("load", "all"):
        from bench import load

        load.main(rest if which == "load" else [])
    if which in ("feed", "screen", "all"):
        from bench import feed

        feed.main(rest if which in ("feed", "screen") else [])
    if which == "report":
        from bench import report

        report.main(rest)
    if which == "analytics":
        from bench import analytics

        analytics.main(rest)
    if which == "explore":
        from bench import explore

        explore.main(rest)
    if which == "roster":
        from bench import roster

        roster.main(rest)
    if which == "workersdelta":
        from bench import workers_delta

        workers_delta.main(rest)
    if which in ("api", "all"):
        from bench import api

        api.main(rest if which == "api" else [])
    if which in ("imports", "all"):
        from bench import imports

        imports.main(rest if which == "imports" else [])
    if which in ("layers", "all"):
        from bench import layers_grids

        layers_grids.main(rest if which == "layers" else [])
    if which in ("layerslive", "all"):
        from bench import layers_live

        layers_live.main(rest if which == "layerslive" else [])
    if which in ("access", "all"):
        from bench import access

        access.main(rest if which == "access" else [])
    known = (
        "load",
        "feed",
        "screen",
        "api",
        "imports",
        "layers",
        "layerslive",
        "access",
        "workersdelta",
        "explore",
        "analytics",
        "report",
        "roster",
        "wall",
        "all",
    )
    if which not in known:
        print(
            f"unknown benchmark {which!r}: choose load, feed, api, imports, layers, explore,"
            " analytics, report, roster, layerslive, access, workersdelta, wall or all",
            file=sys.stderr,
        )
        sys.exit(2)


main()
