#!/usr/bin/env bash
# Runs every benchmark at full size and prints its figures (with ratios to same-run baselines).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh
build build -DGW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
export GW_MODULE_DIR="$ROOT/build/lib/camgw" GW_BUILD_DIR="$ROOT/build" GW_SOURCE_DIR="$ROOT"
for b in build/bin/*_bench; do
  echo "== $(basename "$b")"
  "$b" 2> >(grep -v "level=info" >&2)
done
echo "== e2e_notify_bench (1,000 cameras: camera event -> oneM2M NOTIFY vs. mosquitto alone)"
/usr/bin/python3 tests/bench/e2e_notify_bench.py --build-dir "$ROOT/build"
