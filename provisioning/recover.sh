#!/usr/bin/env bash
# Break-glass recovery (docs/unseal.md): rebuilds this server's master key from the
# printed recovery shares and enrols it with new unseal peers (a new KCTL key too),
# for when the old peers are lost, destroyed or no longer trusted. A thin wrapper
# around `onionmailctl recover`.
#
# Usage: provisioning/recover.sh --threshold T --peers-file FILE --kctl-out FILE
#          [--shares-file FILE] [--config FILE] [--credits N]
#          [--recovery TR/NR --recovery-out FILE] [--socks5 HOST:PORT]
#          [--onionmailctl PATH] [--help]
#   --shares-file FILE  the recovery shares, one per line; without it the shares are
#                       typed at the terminal (not echoed), one per prompt, an empty
#                       line to finish, and kept only in a private temporary file that
#                       is shredded on exit
#   --threshold T, --peers-file FILE, --kctl-out FILE, --credits N, --recovery TR/NR,
#   --recovery-out FILE, --socks5 HOST:PORT, --config FILE, --onionmailctl PATH
#                       as for enrol-peers.sh (the new peers must hold no record for
#                       this server yet)
# Needs the state directory and its key-store device (the enrolment record holds the
# commitment that checks the shares). Run as root while onionmaild is stopped.
# Afterwards, destroy the old peers' records with the old KCTL key if you still have it
# (provisioning/kctl.sh --action destroy).
set -euo pipefail
umask 077

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

config=/etc/onionmaild.toml
ctl=onionmailctl
peers_file=
shares_file=
args=()

while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --config) config="${2:?--config needs a value}"; shift 2 ;;
    --onionmailctl) ctl="${2:?--onionmailctl needs a value}"; shift 2 ;;
    --peers-file) peers_file="${2:?--peers-file needs a value}"; shift 2 ;;
    --shares-file) shares_file="${2:?--shares-file needs a value}"; shift 2 ;;
    --threshold | --kctl-out | --credits | --recovery | --recovery-out | --socks5)
      args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    *) echo "recover: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$peers_file" ]]; then
  echo "recover: --peers-file FILE is required (see --help)" >&2
  exit 2
fi

peer_args=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"
  read -r -a words <<<"${line//=/ }" || true
  ((${#words[@]} == 0)) && continue
  if ((${#words[@]} != 2)); then
    echo "recover: $peers_file: expected 'HOST:PORT PIN', got: $line" >&2
    exit 2
  fi
  peer_args+=(--peer "${words[0]}=${words[1]}")
done <"$peers_file"
if ((${#peer_args[@]} == 0)); then
  echo "recover: $peers_file names no peer" >&2
  exit 2
fi

if command -v systemctl >/dev/null && systemctl is-active --quiet onionmaild 2>/dev/null; then
  echo "recover: onionmaild is running; stop it first (systemctl stop onionmaild)" >&2
  exit 1
fi

if [[ -z "$shares_file" ]]; then
  if [[ ! -t 0 ]]; then
    echo "recover: no --shares-file and no terminal to type the shares on" >&2
    exit 2
  fi
  tmpdir=$(mktemp -d)
  trap 'shred -u "$tmpdir"/* 2>/dev/null || true; rm -rf "$tmpdir"' EXIT
  shares_file="$tmpdir/shares"
  : >"$shares_file"
  n=0
  while :; do
    IFS= read -r -s -p "recovery share $((n + 1)) (empty line to finish): " share
    echo
    [[ -z "$share" ]] && break
    printf '%s\n' "$share" >>"$shares_file"
    n=$((n + 1))
  done
  unset share
  if ((n == 0)); then
    echo "recover: no share typed" >&2
    exit 2
  fi
fi

# Not exec: the trap must shred the typed shares afterwards.
"$ctl" --config "$config" recover --shares-file "$shares_file" "${args[@]}" "${peer_args[@]}"
