#!/usr/bin/env bash
# Demo: installs what is missing, builds, provisions a SoftHSM2 token and a
# demo state directory and runs onionmaild in the foreground on 127.0.0.1.
# The server's keys are generated inside the token.
#   as root:  creates the role users (create-users.sh) and keeps the state in
#             /var/lib/onionmaild-demo, token in its softhsm/ owned by
#             onionmail (the key role's user, which roles drop to)
#   non-root: keeps the state in ./demo-state; everything runs as you
# Idempotent: an existing demo state is reused. Ctrl-C stops the server.
#
# Usage: provisioning/demo.sh [--help]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/provisioning/install-deps.sh"
"$top/provisioning/build.sh"
softhsm_owner=()
if [[ $(id -u) -eq 0 ]]; then
  # Roles drop to these users; onionmailctl as root drops to onionmail. The
  # state lives outside the repository, which may sit under /root (0700,
  # not searchable by onionmail).
  "$top/provisioning/create-users.sh"
  state=/var/lib/onionmaild-demo
  install -d -o root -g root -m 0711 "$state"
  softhsm_owner=(--owner onionmail)
  runs_as="roles drop to onionmail (keys, state), onionmail-smtp, onionmail-pop3"
else
  state="$top/demo-state"
  mkdir -p "$state" && chmod 0700 "$state"
  runs_as="every role runs as $(id -un) (start as root for one user per role)"
fi
conf="$state/onionmaild.toml"
ctl="$top/build/src/ctl/onionmailctl"
"$top/provisioning/softhsm-init.sh" --dir "$state/softhsm" --label onionmaild --non-interactive \
  "${softhsm_owner[@]}"
if [[ ! -f "$conf" ]]; then
  cat >"$conf" <<CONF
# Demo configuration: loopback only. See docs/configuration.md.
[server]
domain = "demo.onion"
state_dir = "$state/data"

[keys]
backend = "pkcs11"
pkcs11_module = "$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)"
token_label = "onionmaild"
pin_file = "$state/softhsm/user.pin"
softhsm2_conf = "$state/softhsm/softhsm2.conf"
CONF
fi
if [[ ! -f "$state/data/tls/cert.pem" ]]; then
  # As root: creates $state/data for onionmail, then runs as onionmail.
  "$ctl" --config "$conf" init
fi
cat <<MSG

onionmaild demo
  SMTP (STARTTLS required): 127.0.0.1:2525    POP3 (STLS required): 127.0.0.1:1110
  TLS certificate:          $state/data/tls/cert.pem
  key store:                SoftHSM2 token "onionmaild" in $state/softhsm (PIN file user.pin)
  users:                    $runs_as
  add a user (prints two generated passwords: SMTP send, POP3 read):
    $ctl --config $conf user add alice
  send:  swaks --server 127.0.0.1 --port 2525 --tls --auth PLAIN --auth-user alice \\
           --from alice@demo.onion --to alice@demo.onion
  read:  curl --ssl-reqd --cacert $state/data/tls/cert.pem pop3://127.0.0.1:1110/1 --user alice

MSG
exec "$top/build/src/server/onionmaild" --config "$conf"
