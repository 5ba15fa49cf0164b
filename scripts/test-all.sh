#!/usr/bin/env bash
# Everything `make test` runs, in order:
#   1. release build (GCC) and its tests
#   2. the tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. a clang-14 libFuzzer build: replay each fuzzer's corpus, then fuzz each briefly
#   4. the valgrind constant-time check of the ciphers' secret-key paths
# Environment: FUZZ_SECONDS (per target, default 20), JOBS (default nproc),
# CUSTOS_DATA_DIR (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export CUSTOS_DATA_DIR=${CUSTOS_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}
if [[ ! -d "$CUSTOS_DATA_DIR/kat" ]]; then
  echo "test-all: test vectors not found at $CUSTOS_DATA_DIR (set CUSTOS_DATA_DIR)" >&2
  exit 1
fi

passed=0
failed=0
stage() { echo; echo "=== $* ($(date +%T))"; }
count_ctest() {  # adds the counts of a ctest log to the totals
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$1" | tail -1)
  local total fail
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  fail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - fail))
  failed=$((failed + fail))
}

stage "1/4 release build and tests"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release -j "$JOBS"
ctest --test-dir build/release -j "$JOBS" --output-on-failure 2>&1 | tee build/release/ctest.log
count_ctest build/release/ctest.log

stage "2/4 AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSTOS_SANITIZE=ON \
  -DCUSTOS_BENCHMARKS=OFF >/dev/null
ninja -C build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan -j "$JOBS" --output-on-failure 2>&1 | tee build/asan/ctest.log
count_ctest build/asan/ctest.log

stage "3/4 libFuzzer build (clang-14): replay corpora, fuzz ${FUZZ_SECONDS}s per target"
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSTOS_FUZZ=ON \
  -DCUSTOS_BENCHMARKS=OFF -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
ninja -C build/fuzz -j "$JOBS"
for target in $(cat build/fuzz/fuzzers.txt); do
  binary=build/fuzz/fuzz/${target}_fuzzer
  seeds=fuzz/corpus/$target
  work=build/fuzz/corpus/$target
  rm -rf "$work" && mkdir -p "$work"
  echo "--- $target: replay $(ls "$seeds" | wc -l) seeds"
  if ! "$binary" -runs=0 "$seeds" >"build/fuzz/$target.replay.log" 2>&1; then
    cat "build/fuzz/$target.replay.log"; echo "FAILED: $target corpus replay"; failed=$((failed + 1)); continue
  fi
  echo "--- $target: fuzz ${FUZZ_SECONDS}s"
  if "$binary" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build/fuzz/$target-" "$work" "$seeds" >"build/fuzz/$target.fuzz.log" 2>&1; then
    tail -1 "build/fuzz/$target.fuzz.log"; passed=$((passed + 1))
  else
    tail -40 "build/fuzz/$target.fuzz.log"; echo "FAILED: $target"; failed=$((failed + 1))
  fi
done

stage "4/4 valgrind constant-time check"
if scripts/ct-check.sh build/release; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo
echo "total: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
