#!/usr/bin/env bash
# The main job, on loopback: installs what it needs, builds, then runs the whole product — mosquitto
# and prosody (generated configuration and certificates, free ports), gatewayd with the shipped
# configuration and mappings (osap + onem2m + oic), simulated cameras and an NVR (camsim), a oneM2M
# application and an OIC client — with every line prefixed by the component that printed it.
# Ctrl-C or SIGTERM stops everything it started, by PID, and removes its temporary state.
#
#   bash scripts/demo.sh [--duration S] [--cameras N] [--event-interval-ms MS] [--verbose]
#   bash scripts/demo.sh --no-setup --build-dir DIR ...   # use an existing build (the ctest does)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
SETUP=1 BUILD_DIR="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-setup) SETUP=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[ "$SETUP" = 0 ] || bash scripts/setup.sh
if [ -z "$BUILD_DIR" ]; then
  BUILD_DIR="$ROOT/build"
  echo "demo: building into $BUILD_DIR (first time takes a few minutes)..."
  BUILD_TARGET="gatewayd gatewayctl camsim gw_osap gw_onem2m gw_oic" build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Debian's python3 (python3-paho-mqtt, python3-slixmpp), not whatever python3 comes first on PATH.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
# exec: the orchestrator becomes this process, so Ctrl-C and `kill -TERM <pid of demo.sh>` reach it;
# it starts every component in its own session and stops each one by PID.
exec "$PY" -u scripts/demo.py --build "$BUILD_DIR" "${ARGS[@]+"${ARGS[@]}"}"
