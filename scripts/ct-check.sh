#!/usr/bin/env bash
# The valgrind constant-time check (the ctgrind method). testing/ct_check marks
# every key and plaintext as undefined memory; memcheck then reports any branch
# or memory index computed from them. Two deliberately leaky functions (a
# secret branch, a secret table index) are checked first and must be caught,
# so the check is known to work.
set -uo pipefail
BUILD=${1:-build/release}
BINARY=$BUILD/testing/ct_check
VALGRIND=(valgrind --quiet --error-exitcode=42 --track-origins=yes)

for selftest in leaky:"depends on uninitialised value" leaky-index:"uninitialised value of size"; do
  flag=${selftest%%:*}
  expected=${selftest#*:}
  if "${VALGRIND[@]}" "$BINARY" --self-test-$flag >/dev/null 2>"$BUILD/ct-selftest.log"; then
    echo "ct-check: FAILED: valgrind did not catch the deliberate leak ($flag)"
    exit 1
  fi
  if ! grep -q "$expected" "$BUILD/ct-selftest.log"; then
    cat "$BUILD/ct-selftest.log"; echo "ct-check: FAILED: self-test $flag failed for another reason"
    exit 1
  fi
  echo "ct-check: self-test caught the deliberate leak ($flag)"
done

if "${VALGRIND[@]}" "$BINARY" 2>"$BUILD/ct-check.log"; then
  echo "ct-check: no secret-dependent branch or index found"
else
  cat "$BUILD/ct-check.log"; echo "ct-check: FAILED: secret-dependent branch or memory index"
  exit 1
fi
