#!/usr/bin/env bash
# Runs the server and the live simulator together; Ctrl-C stops both.
# Demo mode: the demo accounts' published passwords (printed by `gridscope demo load`, listed in
# the README) are accepted by this server only; every other deployment refuses them.
#
# Only the server's exit ends the demo. The simulator rides out database hiccups by itself; if
# it dies anyway (the database away when it starts, a bug), it is restarted with a growing pause
# (2 s doubling to 60 s, back to 2 s after a run of a minute or more). A dying simulator used to
# take the server down with it (issue #10).
set -uo pipefail
cd "$(dirname "$0")/.."
export GRIDSCOPE_DEMO_MODE=true
GS=${GS:-.venv/bin/gridscope}
PORT="${PORT:-8050}"
HOST="${HOST:-127.0.0.1}"
server_pid=""
keeper_pid=""
sweep_pid=""
rc=0
stop() {
  trap - INT TERM EXIT
  [ -n "$keeper_pid" ] && kill -TERM "$keeper_pid" 2>/dev/null
  [ -n "$sweep_pid" ] && kill -TERM "$sweep_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
  wait 2>/dev/null
  echo; echo "gridscope demo stopped"
  exit "$rc"
}
trap stop INT TERM EXIT

# The simulator under a keeper: restarted with backoff whenever it exits, until the keeper is
# told to stop (TERM: passed on to the running simulator).
keep_simulator() {
  local pause=2 child="" started status
  trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; exit 0' TERM INT
  while true; do
    started=$SECONDS
    $GS demo live &
    child=$!
    wait "$child"
    status=$?
    if (( SECONDS - started >= 60 )); then pause=2; fi
    echo "gridscope: the live simulator exited (status $status); restarting in ${pause} s" >&2
    sleep "$pause" &
    child=$!
    wait "$child"
    pause=$(( pause * 2 > 60 ? 60 : pause * 2 ))
  done
}

$GS serve --host "$HOST" --port "$PORT" &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "gridscope: the server did not start (see above)" >&2; rc=1; exit 1; }
  sleep 0.5
done
keep_simulator &
keeper_pid=$!
# The sweep: supervision steps, the patrol rollups of the simulator's GPS fixes and the daily
# open-past-due snapshots that /analytics reads (every 5 minutes; a failure is logged, the
# next round retries).
$GS sweep --every 300 &
sweep_pid=$!
echo
echo "  gridscope is live:  http://$HOST:$PORT/login    (Ctrl-C stops the server and the simulator)"
echo "  demo accounts: admin / Admin-demo-2026, leader, analyst, dispatcher, wall (see above or the"
echo "  README's demo section); the wall link printed above opens the screen with no password."
echo
wait "$server_pid"
rc=$?
echo "gridscope: the server exited (status $rc); stopping the demo" >&2
exit "$rc"
