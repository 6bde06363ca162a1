#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer + UBSan (ONIONMAIL_SANITIZE=ON)
# into build-asan (or $BUILD_DIR) and runs the whole CTest suite there (unit
# and integration; the integration tests run the sanitized binaries). Leak
# checking is on and any sanitizer report fails the test. Unit tests run in
# parallel, then the integration tests one at a time (sanitized servers are
# slow; under CPU contention their timing assertions get flaky).
# Usage: provisioning/sanitize.sh [--help] [extra ctest args]
#   env: BUILD_DIR, JOBS, CC/CXX (default: the system gcc), CMAKE_EXTRA_ARGS
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-asan}
jobs=${JOBS:-$(nproc)}

t0=$SECONDS
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DONIONMAIL_SANITIZE=ON ${CMAKE_EXTRA_ARGS:-} >/dev/null
ninja -C "$build" -j "$jobs"
echo "sanitize.sh: build took $((SECONDS - t0))s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
t1=$SECONDS
cd "$build"
rc=0
ctest --output-on-failure --timeout 900 -j "$jobs" -LE integration "$@" || rc=$?
echo "sanitize.sh: unit tests took $((SECONDS - t1))s (exit $rc)"
t2=$SECONDS
ctest --output-on-failure --timeout 900 -j 1 -L integration "$@" || rc=$?
echo "sanitize.sh: integration tests took $((SECONDS - t2))s (exit $rc)"
exit $rc
