#!/usr/bin/env bash
# The one command that sets up and runs every test (README "Run the tests"; .ci/run calls it).
#   1. installs dependencies (scripts/setup.sh)
#   2. release build (gcc, -O2, no -g) with -Werror: unit, integration, fuzz-corpus replay, benchmark smoke runs
#   3. one clang build (-O0) with ASan + UBSan and libFuzzer coverage instrumentation of everything:
#      a. the same suite (but the benchmarks) under the sanitizers
#      b. every fuzz target for FUZZ_SECONDS (default 20) from its committed corpus, two at a time
#   (One sanitizer build serves both: a separate gcc ASan build cost ~10 more minutes of CI.)
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

fuzz_one() {  # fuzz_one NAME CORPUS-SRC: prints one result line; exit status 0 = no finding
  local name="$1" corpus_src="$2" bin="build-fuzz/bin/fuzz/$1" work out execs
  [ -x "$bin" ] || { echo "fuzz $name: FAILED (binary missing)"; return 1; }
  work=$(mktemp -d)
  [ -n "$corpus_src" ] && [ -d "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/
  out="build-fuzz/$name.log"
  if "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$name-" "$work" >"$out" 2>&1; then
    execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$out" | grep -oE "[0-9]+$" || true)
    echo "fuzz $name: ok, ${execs:-?} executions in ${FUZZ_SECONDS}s"
    rm -rf "$work"
    return 0
  fi
  echo "fuzz $name: FAILED (input saved in build-fuzz/artifacts/; add it to $corpus_src; log $out)"
  # What failed, then the input itself: CI keeps only this output, not the artifact files.
  grep -m 5 -E "invariant violated|ERROR: |SUMMARY: |Assertion|runtime error" "$out" || true
  grep -m 40 -E "^ *#[0-9]+ " "$out" || true
  local art
  for art in build-fuzz/artifacts/"$name"-*; do
    [ -f "$art" ] || continue
    echo "input $(basename "$art") ($(stat -c %s "$art") bytes), base64:"
    head -c 8192 "$art" | base64 -w 0; echo
  done
  tail -12 "$out"
  rm -rf "$work"
  return 1
}

if [ "${SKIP_SANITIZE:-0}" != 1 ] || [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== clang build: ASan + UBSan, libFuzzer coverage instrumentation of everything"
  # -O0 with line tables: compiles in half the time of gcc's ASan build, at the price of slower
  # fuzzing per second (FUZZ_SECONDS raises the time).
  if CC=clang CXX=clang++ build build-fuzz -DGW_FUZZ=ON -DGW_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS_DEBUG="-O0 -gline-tables-only" -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only"; then
    if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
      echo "== the suite under ASan + UBSan (clang)"
      LSAN_OPTIONS="suppressions=$ROOT/tests/support/lsan.supp:print_suppressions=0" \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest build-fuzz -LE bench
    fi
    if [ "${SKIP_FUZZ:-0}" != 1 ]; then
      echo "== libFuzzer targets, ${FUZZ_SECONDS}s each, $JOBS at a time"
      mkdir -p build-fuzz/artifacts build-fuzz/results
      rm -f build-fuzz/results/*
      # Each target in the background, at most $JOBS at once; results collected in list order.
      i=0
      while read -r name corpus_src; do
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
        i=$((i + 1))
        ( if fuzz_one "$name" "$corpus_src" > "build-fuzz/results/$i.out" 2>&1; then echo ok > "build-fuzz/results/$i.rc"
          else echo fail > "build-fuzz/results/$i.rc"; fi ) &
      done < build-fuzz/fuzz_targets.txt
      wait
      for ((k = 1; k <= i; k++)); do
        cat "build-fuzz/results/$k.out"
        if [ "$(cat "build-fuzz/results/$k.rc" 2>/dev/null)" = ok ]; then passed=$((passed + 1))
        else failed=$((failed + 1)); failures+=("$(head -1 "build-fuzz/results/$k.out")"); fi
      done
    fi
  else
    failed=$((failed + 1)); failures+=("clang sanitizer/fuzz build")
  fi
fi

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
