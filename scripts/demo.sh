#!/usr/bin/env bash
# The main job, on loopback: installs what it needs, builds, and runs the gateway with the shipped
# configuration. Ctrl-C stops everything it started and removes its temporary state.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh
echo "demo: building (first time takes a few minutes)..."
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

STATE=$(mktemp -d /tmp/camgw-demo.XXXXXX)
PIDS=()
# Children run in their own sessions (setsid), so Ctrl-C reaches only this script, which then
# stops each child exactly once, by PID, and waits for it.
cleanup() {
  trap - INT TERM EXIT
  local rc=0
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    wait "$pid" 2>/dev/null; st=$?
    [ "$st" -eq 0 ] || [ "$st" -eq 127 ] || { echo "demo: process $pid exited with status $st"; rc=1; }
  done
  rm -rf "$STATE"
  echo "demo: stopped; nothing left running."
  exit $rc
}
trap cleanup INT TERM EXIT

cat <<TXT
================================================================================
camgw demo
  gatewayd loads firmware/etc/camgw/gateway.textproto: two adapter modules
  ("devices": three simulated devices reporting a counter every 2 s and
  answering requests; "cloud": logs what the router delivers to it and changes a
  setting on a device every 5 s). Routes and device models come from mappings/.
  Watch for:  comp=cloud msg="received REPORT ..."    (device -> router -> cloud)
              comp=cloud msg="received RESPONSE ..."  (cloud -> device -> cloud)
  Ctrl-C stops the demo (gatewayd shuts down cleanly, exit 0).
  State (registry) lives in $STATE and is removed at exit.
================================================================================
TXT
setsid "$ROOT/build/bin/gatewayd" --config "$ROOT/firmware/etc/camgw/gateway.textproto" --state-dir "$STATE" &
PIDS+=($!)
wait "${PIDS[0]}" || true
echo "demo: gatewayd exited on its own"
