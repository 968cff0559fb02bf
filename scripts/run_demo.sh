#!/usr/bin/env bash
# Runs the server and the live simulator together; Ctrl-C stops both.
set -uo pipefail
cd "$(dirname "$0")/.."
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
echo "  gridscope is live:  http://$HOST:$PORT/screen    (Ctrl-C stops the server and the simulator)"
echo
wait -n "${pids[@]}"
