#!/usr/bin/env bash
# Everything `make demo` and `make test` need on a fresh Debian machine, idempotent.
#   scripts/setup.sh [--browser]
# Creates .venv, installs gridscope, makes sure PostgreSQL (with PostGIS) and Redis answer,
# starting them when they are installed but stopped, and installs PostGIS, Debian's chromium and
# fonts-noto-cjk (the monthly report's PDF) and, with --browser, chromium-driver and
# poppler-utils (the tests) with apt when missing and we are root.
# Fails with one message saying exactly what to install or set.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

say() { printf '\033[1;36m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mgridscope setup: %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
APT_UPDATED=0
apt_install() {
  is_root || die "need the Debian packages '$*' but not running as root: run 'sudo apt-get install -y $*' and retry"
  command -v apt-get >/dev/null || die "need '$*' and this machine has no apt-get: install them by hand"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/gridscope}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DATABASE_URL REDIS_URL

# --- Python and the virtual environment -------------------------------------------------------
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then PY="$c"; break; fi
  done
fi
[ -n "$PY" ] || die "Python 3.11 is required: install python3.11 (with venv) or set PYTHON=/path/to/python3.11"
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $PY"
    "$PY" -m venv .venv || die "'$PY -m venv' failed: install the venv module (apt-get install python3.11-venv)"
  fi
  say "installing gridscope and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # (grep drops the "Location ... is ignored" noise some machines' pip configuration prints)
  .venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
  [ "${PIPESTATUS[0]}" = 0 ] || die "pip install failed (see above): PyPI must be reachable"
  rm -f .venv/.installed-*; touch "$stamp"
fi

# --- PostgreSQL -------------------------------------------------------------------------------
pg_host=$(.venv/bin/python -c "from urllib.parse import urlsplit as u; import os; print(u(os.environ['DATABASE_URL']).hostname or 'localhost')")
pg_port=$(.venv/bin/python -c "from urllib.parse import urlsplit as u; import os; print(u(os.environ['DATABASE_URL']).port or 5432)")
pg_local=0
case "$pg_host" in 127.0.0.1|localhost|::1|/*) pg_local=1 ;; esac
pg_up() { .venv/bin/python - <<'PY' >/dev/null 2>&1
import os, psycopg
psycopg.connect(os.environ["DATABASE_URL"], dbname="postgres", connect_timeout=3).close()
PY
}
if ! pg_up; then
  if [ "$pg_local" = 1 ] && command -v pg_lsclusters >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    ver=$(ls /etc/postgresql | sort -V | tail -1)
    say "starting PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start || true
    for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
  fi
  pg_up || die "PostgreSQL does not answer at $(.venv/bin/python -c "from domain.config import redact_url; import os; print(redact_url(os.environ['DATABASE_URL']))"): install it (apt-get install postgresql-15) or set DATABASE_URL to a reachable PostgreSQL 15 server"
fi
has_postgis() { .venv/bin/python - <<'PY' 2>/dev/null
import os, sys, psycopg
with psycopg.connect(os.environ["DATABASE_URL"], dbname="postgres", connect_timeout=3) as c:
    sys.exit(0 if c.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() else 1)
PY
}
if ! has_postgis; then
  [ "$pg_local" = 1 ] || die "the PostgreSQL server at $pg_host:$pg_port has no PostGIS: install PostGIS 3 on that server"
  pgver=$(.venv/bin/python -c "
import os, psycopg
with psycopg.connect(os.environ['DATABASE_URL'], dbname='postgres') as c: print(c.info.server_version // 10000)")
  apt_install "postgresql-$pgver-postgis-3"
  has_postgis || die "PostGIS still not available after installing postgresql-$pgver-postgis-3"
fi

# --- Redis ------------------------------------------------------------------------------------
redis_up() { .venv/bin/python -c "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL'], socket_timeout=2).ping()" >/dev/null 2>&1; }
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/gridscope.log >/dev/null 2>&1 \
      || redis-server --daemonize yes --port 6379 --save "" >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.25; done
  fi
  redis_up || die "Redis does not answer at $REDIS_URL: install it (apt-get install redis-server) or set REDIS_URL"
fi

# --- Monthly report (gridscope report): headless chromium prints the A4 HTML with CJK fonts ----
if ! command -v chromium >/dev/null; then
  apt_install chromium
fi
if ! fc-list :lang=zh 2>/dev/null | grep -q 'Noto Sans CJK SC'; then
  apt_install fonts-noto-cjk
fi
# The report test reads the PDF's text back with pdftotext (poppler-utils).
if [ "$want_browser" = 1 ] && ! command -v pdftotext >/dev/null; then
  apt_install poppler-utils
fi

# --- Browser (tests only) ---------------------------------------------------------------------
if [ "$want_browser" = 1 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    apt_install fonts-noto-cjk || true
  fi
  chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 \
    || die "Debian chromium is installed but does not start headless (try: chromium --headless --no-sandbox --dump-dom about:blank)"
fi
say "setup ok: $(.venv/bin/python -c "from domain.config import redact_url; import os; print(redact_url(os.environ['DATABASE_URL']))"), $REDIS_URL"
