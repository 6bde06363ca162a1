#!/usr/bin/env bash
# Appends a [keys] section (read from stdin) to an onionmaild TOML config,
# creating the file (mode 0640) if needed. Never overwrites: a config that
# already has a [keys] section is left alone and the script says so.
# Used by softhsm-init.sh and tpm2-provision.sh (--config FILE).
#
# Usage: provisioning/write-keys-config.sh FILE < keys-section
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" || $# -ne 1 ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
file=$1
section=$(cat)
if [[ -f "$file" ]] && grep -q '^\[keys\]' "$file"; then
  echo "config: $file already has a [keys] section; left unchanged"
  exit 0
fi
if [[ ! -f "$file" ]]; then
  (umask 027 && : >"$file")
fi
{
  [[ -s "$file" ]] && echo
  echo "$section"
} >>"$file"
echo "config: [keys] section written to $file"
