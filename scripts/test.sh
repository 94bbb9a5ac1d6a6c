#!/usr/bin/env bash
# The one command that sets up and runs every test (README "Run the tests"; .ci/run calls it).
#   1. installs dependencies (scripts/setup.sh)
#   2. release build (-O2, no -g) with -Werror: unit, integration, fuzz-corpus replay, benchmark smoke runs
#   3. ASan + UBSan build (gcc) of the same suite
#   4. clang libFuzzer build (all code coverage-instrumented): every fuzz target for FUZZ_SECONDS
#      (default 20) from its committed corpus
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
if build build -DGW_WERROR=ON -DCMAKE_BUILD_TYPE=Release; then  # -O2, no debug info: faster CI
  run_ctest build
else
  failed=$((failed + 1)); failures+=("release build")
fi

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== ASan + UBSan build (gcc): whole suite"
  if build build-asan -DGW_WERROR=ON -DGW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; then
    LSAN_OPTIONS="suppressions=$ROOT/tests/support/lsan.supp:print_suppressions=0" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_ctest build-asan -LE bench
  else
    failed=$((failed + 1)); failures+=("sanitizer build")
  fi
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== libFuzzer targets (clang, everything coverage-instrumented), ${FUZZ_SECONDS}s each"
  if CC=clang CXX=clang++ BUILD_TARGET=fuzz_all build build-fuzz -DGW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    while read -r name corpus_src; do
      bin="build-fuzz/bin/fuzz/$name"
      [ -x "$bin" ] || { echo "fuzz $name: binary missing"; failed=$((failed + 1)); failures+=("fuzz $name missing"); continue; }
      work=$(mktemp -d)
      [ -n "$corpus_src" ] && [ -d "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/
      out="build-fuzz/$name.log"
      mkdir -p build-fuzz/artifacts
      if "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
          -artifact_prefix="build-fuzz/artifacts/$name-" "$work" >"$out" 2>&1; then
        execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$out" | grep -oE "[0-9]+$" || true)
        echo "fuzz $name: ok, ${execs:-?} executions in ${FUZZ_SECONDS}s"
        passed=$((passed + 1))
      else
        echo "fuzz $name: FAILED (input saved in build-fuzz/artifacts/; add it to $corpus_src; log $out)"
        tail -30 "$out"
        failed=$((failed + 1)); failures+=("fuzz $name")
      fi
      rm -rf "$work"
    done < build-fuzz/fuzz_targets.txt
  else
    failed=$((failed + 1)); failures+=("fuzz build")
  fi
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
