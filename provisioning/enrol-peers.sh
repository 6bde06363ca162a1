#!/usr/bin/env bash
# Enrols this onionmaild server with its unseal peers (docs/unseal.md): its master
# key is split T-of-(peers+1) and the peers' shares can only be used with their help.
# A thin wrapper around `onionmailctl enrol` that reads the peers from a file.
#
# Usage: provisioning/enrol-peers.sh --threshold T --peers-file FILE --kctl-out FILE
#          [--config FILE] [--credits N] [--recovery TR/NR --recovery-out FILE]
#          [--socks5 HOST:PORT] [--re-enrol] [--onionmailctl PATH] [--help]
#   --threshold T       shares needed at boot, the local one included (2..peers+1)
#   --peers-file FILE   one peer per line, "HOST:PORT PIN" or "HOST:PORT=PIN"; PIN is
#                       what `onionmailctl pin` prints on that peer (tls-pin); empty
#                       lines and lines starting with # are skipped
#   --kctl-out FILE     new file for the KCTL private key (mode 0600): move it OFF this
#                       server afterwards (it disables or destroys the peers' records)
#   --config FILE       onionmaild config (default /etc/onionmaild.toml)
#   --credits N         DERK answers asked of each peer (default 1000; peers may grant less)
#   --recovery TR/NR    also print NR break-glass recovery shares, any TR of which give
#   --recovery-out FILE   the master key without the peers (new file, mode 0600)
#   --socks5 HOST:PORT  Tor's SOCKS port, for .onion peers (default: [peer] socks5_proxy)
#   --re-enrol          the state is enrolled: keep its master key (asked of the current
#                       peers) and move it to the peers in the file
#   --onionmailctl PATH the onionmailctl binary (default: onionmailctl in PATH)
# Run as root (onionmailctl then works as the key role's user) while onionmaild is
# stopped; start it afterwards: it boots sealed and asks the peers. Enrolment is refused
# on a state that has users (every derived key changes).
set -euo pipefail
umask 077

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

config=/etc/onionmaild.toml
ctl=onionmailctl
peers_file=
args=()

while (($# > 0)); do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --config) config="${2:?--config needs a value}"; shift 2 ;;
    --onionmailctl) ctl="${2:?--onionmailctl needs a value}"; shift 2 ;;
    --peers-file) peers_file="${2:?--peers-file needs a value}"; shift 2 ;;
    --threshold | --kctl-out | --credits | --recovery | --recovery-out | --socks5)
      args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --re-enrol) args+=("$1"); shift ;;
    *) echo "enrol-peers: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$peers_file" ]]; then
  echo "enrol-peers: --peers-file FILE is required (see --help)" >&2
  exit 2
fi

# "HOST:PORT PIN" or "HOST:PORT=PIN" per line -> --peer HOST:PORT=PIN
peer_args=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"
  read -r -a words <<<"${line//=/ }" || true
  ((${#words[@]} == 0)) && continue
  if ((${#words[@]} != 2)); then
    echo "enrol-peers: $peers_file: expected 'HOST:PORT PIN', got: $line" >&2
    exit 2
  fi
  peer_args+=(--peer "${words[0]}=${words[1]}")
done <"$peers_file"
if ((${#peer_args[@]} == 0)); then
  echo "enrol-peers: $peers_file names no peer" >&2
  exit 2
fi

if command -v systemctl >/dev/null && systemctl is-active --quiet onionmaild 2>/dev/null; then
  echo "enrol-peers: onionmaild is running; stop it first (systemctl stop onionmaild)" >&2
  exit 1
fi

echo "this server:"
"$ctl" --config "$config" pin
exec "$ctl" --config "$config" enrol "${args[@]}" "${peer_args[@]}"
