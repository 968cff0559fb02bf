"""Screenshots of gridscope pages in Debian's headless chromium (for the README and docs).

    python scripts/screenshots.py [BASE_URL] [--out docs/img] [--wait 8]
        [--user admin --password Admin-demo-2026 | --wall-link /wall/gw_…] [--png]

Takes /screen at 1920x1080 and 3840x2160 (and 7680x2160 with --wall) from a running server
(`make demo` serves http://127.0.0.1:8050). Every page needs a session: the script signs in
with --user/--password (default: the demo administrator) or opens --wall-link first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def sign_in(page, args: argparse.Namespace) -> None:
    """Open a session in the page's context: the wall link, or the sign-in form."""
    if args.wall_link:
        page.goto(args.base + args.wall_link)
        return
    page.goto(args.base + "/login")
    page.fill("#gs-username", args.user)
    page.fill("#gs-password", args.password)
    with page.expect_navigation():
        page.click("#gs-login")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base", nargs="?", default="http://127.0.0.1:8050")
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--wait", type=float, default=8.0)
    ap.add_argument("--wall", action="store_true", help="also 7680x2160 (32:9)")
    ap.add_argument("--path", action="append", default=None, help="page path (default /screen)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="Admin-demo-2026")
    ap.add_argument("--wall-link", default="", help="open this wall link instead of signing in")
    ap.add_argument("--png", action="store_true", help="PNG at every size (default: JPEG >1080p)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [(1920, 1080), (3840, 2160)] + ([(7680, 2160)] if args.wall else [])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for path in args.path or ["/screen"]:
            name = path.strip("/").replace("/", "_") or "home"
            for w, h in sizes:
                page = browser.new_page(viewport={"width": w, "height": h})
                sign_in(page, args)
                page.goto(args.base + path)
                page.wait_for_timeout(args.wait * 1000)
                # Walls larger than 1080p as JPEG: a 4K/8K PNG of a map is several megabytes.
                big = w > 1920 and not args.png
                target = out / f"{name}_{w}x{h}.{'jpg' if big else 'png'}"
                page.screenshot(
                    path=str(target),
                    type="jpeg" if big else "png",
                    **({"quality": 82} if big else {}),
                )
                print(target)
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
