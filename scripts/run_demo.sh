#!/usr/bin/env bash
# Runs the server and the live simulator together; Ctrl-C stops both.
# Demo mode: the demo accounts' published passwords (printed by `gridscope demo load`, listed in
# the README) are accepted by this server only; every other deployment refuses them.
set -uo pipefail
cd "$(dirname "$0")/.."
export GRIDSCOPE_DEMO_MODE=true
GS=.venv/bin/gridscope
PORT="${PORT:-8050}"
HOST="${HOST:-127.0.0.1}"
pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  echo; echo "gridscope demo stopped"
}
trap stop INT TERM EXIT
$GS serve --host "$HOST" --port "$PORT" &
pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "gridscope: the server did not start (see above)" >&2; exit 1; }
  sleep 0.5
done
$GS demo live &
pids+=($!)
echo
echo "  gridscope is live:  http://$HOST:$PORT/login    (Ctrl-C stops the server and the simulator)"
echo "  demo accounts: admin / Admin-demo-2026, leader, analyst, dispatcher, wall (see above or the"
echo "  README's demo section); the wall link printed above opens the screen with no password."
echo
wait -n "${pids[@]}"
