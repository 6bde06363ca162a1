#!/usr/bin/env bash
# Configures and builds onionmaild into build/ (or $BUILD_DIR).
#
# Usage: provisioning/build.sh [--help]   (env: BUILD_DIR, BUILD_TYPE, JOBS, TEST_HOOKS)
# TEST_HOOKS=ON compiles the test-only hooks (provisioning/test.sh uses its
# own build dir for that); never for a server you deploy.
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
jobs=${JOBS:-$(nproc)}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DONIONMAIL_TEST_HOOKS="${TEST_HOOKS:-OFF}" ${CMAKE_EXTRA_ARGS:-} >/dev/null
ninja -C "$build" -j "$jobs"
