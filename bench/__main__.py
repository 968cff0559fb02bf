"""python -m bench [load|screen|all] [options] — see each module's docstring."""

import sys


def main() -> None:
    args = sys.argv[1:]
    which = args[0] if args and not args[0].startswith("-") else "all"
    rest = args[1:] if args and not args[0].startswith("-") else args
    if which in ("load", "all"):
        from bench import load

        load.main(rest if which == "load" else [])
    if which in ("screen", "all"):
        from bench import screen

        screen.main(rest if which == "screen" else [])
    if which not in ("load", "screen", "all"):
        print(f"unknown benchmark {which!r}: choose load, screen or all", file=sys.stderr)
        sys.exit(2)


main()
