#!/usr/bin/env bash
# Configures and builds onionmaild into build/ (or $BUILD_DIR).
#
# Usage: provisioning/build.sh [--help]   (env: BUILD_DIR, BUILD_TYPE, JOBS)
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
jobs=${JOBS:-$(nproc)}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  ${CMAKE_EXTRA_ARGS:-} >/dev/null
ninja -C "$build" -j "$jobs"
