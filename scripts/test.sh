#!/usr/bin/env bash
# The one command that sets up and runs every test (README "Run the tests"; .ci/run calls it).
#   1. installs dependencies (scripts/setup.sh)
#   2. release build with -Werror: unit, integration, fuzz-corpus replay, benchmark smoke runs
#   3. clang build with ASan + UBSan + libFuzzer coverage: the same suite under the sanitizers,
#      then every fuzz target for FUZZ_SECONDS (default 20) from its committed corpus
# Ends with one line "N passed, N failed". Environment: FUZZ_SECONDS, SKIP_SANITIZE=1, SKIP_FUZZ=1.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh || exit 1

FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
passed=0; failed=0; failures=()

run_ctest() {  # run_ctest DIR LABEL-ARGS...
  local dir="$1"; shift
  local log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "$@") 2>&1 | tee "$log" | grep -E "^ *[0-9]+/[0-9]+ Test|tests passed|Errors while|\*\*\*Failed|Failed  " || true
  local line p f
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir produced no summary"; failed=$((failed + 1)); failures+=("$dir: ctest"); return
  fi
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  local total
  total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
  p=$((total - f))
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -eq 0 ] || failures+=("$dir: $(grep -E '^\s+[0-9]+ - ' "$log" | tr -s ' ' | tr '\n' ';')")
}

echo "== release build (-Werror)"
if build build -DGW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  run_ctest build
else
  failed=$((failed + 1)); failures+=("release build")
fi

# One clang build serves both the sanitizer suite and the fuzzers: everything is compiled with
# ASan + UBSan and libFuzzer's coverage instrumentation (-DGW_FUZZ=ON), so the whole ctest suite
# runs under the sanitizers there, and the fuzz targets are real libFuzzer binaries.
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== ASan + UBSan build (clang): whole suite"
  if CC=clang CXX=clang++ build build-san -DGW_FUZZ=ON -DGW_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    export LSAN_OPTIONS="suppressions=$ROOT/tests/support/lsan.supp:print_suppressions=0"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_ctest build-san -LE bench
    if [ "${SKIP_FUZZ:-0}" != 1 ]; then
      echo "== libFuzzer targets, ${FUZZ_SECONDS}s each"
      while read -r name corpus_src; do
        bin="build-san/bin/fuzz/$name"
        [ -x "$bin" ] || { echo "fuzz $name: binary missing"; failed=$((failed + 1)); failures+=("fuzz $name missing"); continue; }
        work=$(mktemp -d)
        [ -n "$corpus_src" ] && [ -d "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/
        out="build-san/$name.log"
        mkdir -p build-san/artifacts
        if "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
            -artifact_prefix="build-san/artifacts/$name-" "$work" >"$out" 2>&1; then
          execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$out" | grep -oE "[0-9]+$" || true)
          echo "fuzz $name: ok, ${execs:-?} executions in ${FUZZ_SECONDS}s"
          passed=$((passed + 1))
        else
          echo "fuzz $name: FAILED (input saved in build-san/artifacts/; add it to $corpus_src; log $out)"
          tail -30 "$out"
          failed=$((failed + 1)); failures+=("fuzz $name")
        fi
        rm -rf "$work"
      done < build-san/fuzz_targets.txt
    fi
  else
    failed=$((failed + 1)); failures+=("sanitizer build")
  fi
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
