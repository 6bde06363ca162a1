#!/usr/bin/env bash
# Demo: installs what is missing, builds, provisions a SoftHSM2 token and a
# demo state directory and runs onionmaild in the foreground on 127.0.0.1.
# The server's keys are generated inside the token.
#   as root:  creates the role users (create-users.sh) and keeps the state in
#             /var/lib/onionmaild-demo, token in its softhsm/ owned by
#             onionmail (the key role's user, which roles drop to)
#   non-root: keeps the state in ./demo-state; everything runs as you
# Idempotent: an existing demo state is reused. Ctrl-C stops the server.
#   --state DIR      keep the demo state in DIR instead (as root: not under a
#                    directory onionmail cannot search, such as /root)
#   --build-dir DIR  run the binaries already built in DIR; build nothing
#
# Usage: provisioning/demo.sh [--help] [--state DIR] [--build-dir DIR]
set -euo pipefail
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
state=
build=
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --state | --build-dir)
      [[ $# -ge 2 && -n "$2" ]] || { echo "demo.sh: $1 needs a directory" >&2; exit 2; }
      if [[ "$1" == --state ]]; then state=$2; else build=$2; fi
      shift 2 ;;
    *) echo "demo.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/provisioning/install-deps.sh"
if [[ -z "$build" ]]; then
  build="$top/build"
  # Its own build dir and options, whatever the caller's environment says.
  BUILD_DIR="$build" TEST_HOOKS=OFF CMAKE_EXTRA_ARGS='' "$top/provisioning/build.sh"
fi
[[ -d "$build" ]] || { echo "demo.sh: no directory $build" >&2; exit 1; }
build=$(cd "$build" && pwd)
for bin in src/ctl/onionmailctl src/server/onionmaild; do
  [[ -x "$build/$bin" ]] || { echo "demo.sh: $build/$bin is missing: build first" >&2; exit 1; }
done
softhsm_owner=()
if [[ $(id -u) -eq 0 ]]; then
  # Roles drop to these users; onionmailctl as root drops to onionmail. The
  # state lives outside the repository, which may sit under /root (0700,
  # not searchable by onionmail).
  "$top/provisioning/create-users.sh"
  state=${state:-/var/lib/onionmaild-demo}
  install -d -o root -g root -m 0711 "$state"
  if ! setpriv --reuid onionmail --regid onionmail --clear-groups test -x "$state"; then
    echo "demo.sh: onionmail cannot reach $state: choose a state directory outside" \
      "directories it cannot search (such as /root)" >&2
    exit 1
  fi
  softhsm_owner=(--owner onionmail)
  runs_as="roles drop to onionmail (keys, state), onionmail-smtp, onionmail-pop3"
else
  state=${state:-$top/demo-state}
  mkdir -p "$state" && chmod 0700 "$state"
  runs_as="every role runs as $(id -un) (start as root for one user per role)"
fi
state=$(cd "$state" && pwd)  # the configuration names it
conf="$state/onionmaild.toml"
ctl="$build/src/ctl/onionmailctl"
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
  ask the server@ bot (the answer comes into alice's mailbox; HELP lists the commands):
         swaks --server 127.0.0.1 --port 2525 --tls --auth PLAIN --auth-user alice \
           --from alice@demo.onion --to server@demo.onion --header "Subject: HELP"

MSG
exec "$build/src/server/onionmaild" --config "$conf"
