#!/usr/bin/env bash
# Sends a KCTL order about one enrolled server to its unseal peers (docs/unseal.md):
# disable or enable its records, reset its DERK credits, or destroy the peers' secrets
# for it for ever; or queries their state and counters for it without changing
# anything (after a seizure, say). A thin wrapper around `onionmailctl kctl`, meant for
# the operator's own (offline-kept) machine: it needs the KCTL private key, no config
# and no state.
#
# Usage: provisioning/kctl.sh --key FILE --server-id HEX
#          --action disable|enable|reset-credits|destroy|query --peers-file FILE
#          [--serial N] [--credits N] [--valid-hours H] [--socks5 HOST:PORT]
#          [--out FILE] [--onionmailctl PATH] [--help]
#   --key FILE          the KCTL private key written by `enrol --kctl-out`
#   --server-id HEX     the server's id (`onionmailctl pin` on it, or enrol's output)
#   --action query      prints each peer's state, credits left, answers given and the
#                       time of the last one; valid 10 minutes, takes no --serial,
#                       --credits or --valid-hours, and is not passed on between peers
#   --peers-file FILE   the peers to tell, same format as for enrol-peers.sh; each
#                       peer that applies an order also passes it on to the others
#   --serial N          must be above every serial used before for this server; the
#                       default is the UTC date and time, YYYYMMDDHHMMSS (orders only)
#   --credits N         the new credit count (reset-credits only)
#   --valid-hours H     how long peers accept the order (default 24, at most 720)
#   --socks5 HOST:PORT  Tor's SOCKS port, needed for .onion peers (e.g. 127.0.0.1:9050)
#   --out FILE          also write the signed order to FILE, for sending later with
#                       `onionmailctl kctl --cert FILE --send ...`
#   --onionmailctl PATH the onionmailctl binary (default: onionmailctl in PATH)
# Exit status: 0 when every peer applied the order (or answered the query), 1 otherwise
# (see the output), 2 for a usage error.
set -euo pipefail
umask 077

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

ctl=onionmailctl
peers_file=
serial=
action=
args=()

while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --onionmailctl) ctl="${2:?--onionmailctl needs a value}"; shift 2 ;;
    --peers-file) peers_file="${2:?--peers-file needs a value}"; shift 2 ;;
    --serial) serial="${2:?--serial needs a value}"; shift 2 ;;
    --action) action="${2:?--action needs a value}"; args+=("$1" "$2"); shift 2 ;;
    --key | --server-id | --credits | --valid-hours | --socks5 | --out | --config)
      args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    *) echo "kctl: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$peers_file" ]]; then
  echo "kctl: --peers-file FILE is required (see --help)" >&2
  exit 2
fi
serial_args=()
if [[ "$action" == query ]]; then
  if [[ -n "$serial" ]]; then
    echo "kctl: a query takes no --serial (it changes nothing and consumes no serial)" >&2
    exit 2
  fi
else
  if [[ -z "$serial" ]]; then
    serial=$(date -u +%Y%m%d%H%M%S)
    echo "kctl: serial $serial (UTC date and time)"
  fi
  serial_args=(--serial "$serial")
fi

send_args=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"
  read -r -a words <<<"${line//=/ }" || true
  ((${#words[@]} == 0)) && continue
  if ((${#words[@]} != 2)); then
    echo "kctl: $peers_file: expected 'HOST:PORT PIN', got: $line" >&2
    exit 2
  fi
  send_args+=(--send "${words[0]}=${words[1]}")
done <"$peers_file"
if ((${#send_args[@]} == 0)); then
  echo "kctl: $peers_file names no peer" >&2
  exit 2
fi

exec "$ctl" kctl "${serial_args[@]}" "${args[@]}" "${send_args[@]}"
