#!/usr/bin/env bash
# Demo: installs what is missing, builds, provisions a demo state directory
# (./demo-state) and runs onionmaild in the foreground on 127.0.0.1.
# Idempotent: an existing demo state is reused. Ctrl-C stops the server.
#
# Usage: provisioning/demo.sh [--help]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/provisioning/install-deps.sh"
"$top/provisioning/build.sh"
state="$top/demo-state"
conf="$state/onionmaild.toml"
ctl="$top/build/src/ctl/onionmailctl"
mkdir -p -m 0700 "$state"
if [[ ! -f "$conf" ]]; then
  cat >"$conf" <<CONF
# Demo configuration: loopback only. See docs/configuration.md.
[server]
domain = "demo.onion"
state_dir = "$state/data"
CONF
fi
if [[ ! -f "$state/data/server.key" ]]; then
  "$ctl" --config "$conf" init
fi
cat <<MSG

onionmaild demo
  SMTP (STARTTLS required): 127.0.0.1:2525    POP3 (STLS required): 127.0.0.1:1110
  TLS certificate:          $state/data/tls/cert.pem
  add a user (prints two generated passwords: SMTP send, POP3 read):
    $ctl --config $conf user add alice
  send:  swaks --server 127.0.0.1 --port 2525 --tls --auth PLAIN --auth-user alice \\
           --from alice@demo.onion --to alice@demo.onion
  read:  curl --ssl-reqd --cacert $state/data/tls/cert.pem pop3://127.0.0.1:1110/1 --user alice

MSG
exec "$top/build/src/server/onionmaild" --config "$conf"
