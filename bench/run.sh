#!/usr/bin/env bash
# bench/run.sh: onionmaild vs Postfix + Dovecot, same machine, same run, same workload.
#
# Installs what is missing (build deps, postfix, dovecot-core/-pop3d/-lmtpd; no service is
# started), builds onionmaild in Release, then sets up every server in a private temp dir on
# 127.0.0.1 (own config, queue, mail and state dirs, own ports) and starts them all; each
# repetition then runs bench/loadgen.py (driving the C++ client bench/loadgen/om-loadgen) against
# every server in turn, the order rotating, so that the servers share the host's good and bad
# spells; then it stops them.
# Servers: onionmaild with its keys on a private SoftHSM2 token (pkcs11 backend; --keys tpm2: on
# a private swtpm, the tpm2 backend), default Argon2id
# for u1..u8, p1..p8 and the first-login users c*, small Argon2id for k1..k8, OWASP's minimum
# for the first-login users o*), postfix+dovecot plain, postfix+dovecot mail_crypt (per-user
# secp521r1 keys, private key locked by the login password; users a1..a8 with Argon2id password
# hashes); Postfix authenticates through Dovecot SASL. Token operations are counted with perf
# uprobes when perf works: on libsofthsm2.so (C_*Init, C_DeriveKey), or with --keys tpm2 the TPM
# commands (Tss2_Sys_ExecuteAsync in libtss2-sys, every command tss2-esys sends). Then the time
# to unseal at boot (bench/unseal.py, 3-of-5 onionmaild unseal peers on loopback; the measured
# server on the same backend).
# Prints a ratio table and writes bench/results/<UTC date>.md and .json. Not a test: CI runs
# only --quick, as a smoke check that it still works (provisioning/test.sh). About 10-12 minutes
# with the defaults.
#
# Usage: bench/run.sh [--quick] [--check] [--runs N] [--keys pkcs11|tpm2] [--session-keys H]
#                     [--rev REV] [--out DIR] [--no-install] [--keep]
#   --quick       tiny counts, 1 run (a smoke check that everything still works; ~1 minute);
#                 implies --check
#   --check       exit 1 unless every phase did all its work (bench/check.py: every message
#                 stored, every POP3 mailbox retrieved, no client error, unseal measured)
#   --runs N      repetitions of every phase; the table shows the median (default 3)
#   --keys tpm2   onionmaild's keys in a TPM: a private swtpm on loopback (tss2's swtpm TCTI)
#                 instead of SoftHSM2. swtpm does on these CPUs what a TPM chip would do on its
#                 own, so its CPU is reported apart from the server's (it still takes the
#                 shared CPUs); a chip is slower per command (docs/benchmarks.md)
#   --session-keys H  onionmaild with [tls] session_key_hours = H: full handshakes signed by a
#                 session key of the key role, certified by the token (docs/keys.md), instead of
#                 one token signature per handshake (the default, 0)
#   --out DIR     where results go (default bench/results)
#   --no-install  do not call apt-get; fail if something is missing
#   --keep        keep the temp dir (configs, logs, mail) for inspection
#   --rev REV     benchmark a committed revision (git archive into the temp dir) instead of
#                 the working tree
# Environment: BUILD_DIR (default <repo>/build-bench, or the temp dir with --rev), JOBS
# (default 2), OM_BIN_DIR (use prebuilt binaries, no build: a directory holding onionmaild and
# onionmailctl, or a build tree with src/server/onionmaild and src/ctl/onionmailctl),
# BENCH_LABEL (appended to the onionmaild version in the report, e.g. "patched: TCP_NODELAY"),
# BENCH_TMP (where the temp dir with every server's state goes; default /tmp: point it at another
# filesystem to compare, e.g. an ext4 with a journal when /tmp's has none).
# BENCH_TCTI (with --keys tpm2: that TPM instead of a swtpm, e.g. device:/dev/tpmrm0, as
# ab.sh's AB_TCTI; its keys are made under the owner hierarchy and their blobs stay in the temp
# dir; the unseal boots still use a swtpm. Not tried here: this machine has no TPM).
set -euo pipefail

usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }  # the header comment
top=$(cd "$(dirname "$0")/.." && pwd)
invocation="bench/run.sh${*:+ $*}"
[[ -n "${OM_BIN_DIR:-}" ]] && invocation="OM_BIN_DIR=$OM_BIN_DIR $invocation"
plan=full runs=3 out="$top/bench/results" install=1 keep=0 rev="" check=0 keys=pkcs11
session_keys=0
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --quick) plan=quick runs=1 check=1 ;;
    --check) check=1 ;;
    --runs) runs="$2"; shift ;;
    --keys) keys="$2"; shift ;;
    --session-keys) session_keys="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-install) install=0 ;;
    --keep) keep=1 ;;
    --rev) rev="$2"; shift ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[[ $keys == pkcs11 || $keys == tpm2 ]] || { echo "--keys must be pkcs11 or tpm2" >&2; exit 2; }
[[ $session_keys =~ ^[0-9]+$ ]] || { echo "--session-keys takes hours (0 = off)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root (Postfix and Dovecot need it)" >&2; exit 1; }

# --- 1. packages --------------------------------------------------------------------------------
PEER_PACKAGES=(postfix dovecot-core dovecot-pop3d dovecot-lmtpd openssl python3 procps softhsm2
  libssl-dev libgnutls28-dev pkg-config linux-perf)
missing=()
for p in "${PEER_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((install)); then
  "$top/provisioning/install-deps.sh"
  if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]} (services are not started)"
    # Keep the packages' own services from starting: a private instance is started below.
    guard=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 0755 /usr/sbin/policy-rc.d
      guard=1
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if ((guard)); then rm -f /usr/sbin/policy-rc.d; fi
  fi
elif ((${#missing[@]})); then
  echo "bench: missing packages: ${missing[*]}" >&2
  exit 1
fi

# --- 2. build -----------------------------------------------------------------------------------
W=$(mktemp -d "${BENCH_TMP:-/tmp}/onionmail-bench.XXXXXX")
chmod 0755 "$W"
om_pid="" probes="" unseal_pid="" tpm_pid=""
source "$top/bench/peer.sh"
source "$top/bench/keys.sh"
cleanup() {
  # Each step tolerates a process that already died: under set -e a failing kill would end the
  # clean-up there and leave the peers, swtpm and the temp dir behind.
  if [[ -n "$om_pid" ]]; then
    kill -TERM "$om_pid" 2>/dev/null || true
    wait "$om_pid" 2>/dev/null || true
  fi
  if [[ -n "$unseal_pid" ]]; then
    kill -TERM "$unseal_pid" 2>/dev/null || true
    wait "$unseal_pid" 2>/dev/null || true
  fi
  if [[ -n "$probes" ]]; then perf probe -q -d "$probe_group:*" >/dev/null 2>&1 || true; fi
  if [[ -n "$tpm_pid" ]]; then
    kill "$tpm_pid" 2>/dev/null || true
    wait "$tpm_pid" 2>/dev/null || true
  fi
  for v in plain crypt; do if [[ -d "$W/$v" ]]; then peer_stop "$W/$v"; fi; done
  if ((keep)); then echo "bench: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
src="$top" build=${BUILD_DIR:-$top/build-bench}
if [[ -n "$rev" ]]; then  # a committed revision, exported read-only (no git state is changed)
  src="$W/src" build=${BUILD_DIR:-$W/build}
  mkdir -p "$src"
  git -C "$top" archive "$rev" | tar -x -C "$src"
fi
if [[ -n "${OM_BIN_DIR:-}" ]]; then
  echo "bench: using the prebuilt binaries in $OM_BIN_DIR"
elif echo "bench: building onionmaild (Release) from $src${rev:+ at $rev} into $build"
  ! { cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  ninja -C "$build" -j "${JOBS:-2}" onionmaild onionmail-key onionmail-smtp onionmail-pop3 \
    onionmail-peer onionmailctl; } >"$W/build.log" 2>&1; then
  tail -30 "$W/build.log" >&2
  echo "bench: build failed (log above)" >&2
  exit 1
fi
if ! { cmake -S "$top/bench/loadgen" -B "$W/loadgen" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  ninja -C "$W/loadgen"; } >"$W/loadgen-build.log" 2>&1; then
  tail -30 "$W/loadgen-build.log" >&2
  echo "bench: building bench/loadgen failed" >&2
  exit 1
fi
client="$W/loadgen/om-loadgen"
om="$build/src/server/onionmaild" ctl="$build/src/ctl/onionmailctl"
if [[ -x "${OM_BIN_DIR:-}/src/server/onionmaild" ]]; then  # a build tree
  om="$OM_BIN_DIR/src/server/onionmaild" ctl="$OM_BIN_DIR/src/ctl/onionmailctl"
elif [[ -n "${OM_BIN_DIR:-}" ]]; then
  om="$OM_BIN_DIR/onionmaild" ctl="$OM_BIN_DIR/onionmailctl"
fi
version=$(git -C "$top" rev-parse --short "${rev:-HEAD}" 2>/dev/null || echo unknown)
[[ -z "$rev" && -n "$(git -C "$top" status --porcelain -- src 2>/dev/null)" ]] && version+="+dirty"
if ((session_keys > 0)); then
  BENCH_LABEL="${BENCH_LABEL:+$BENCH_LABEL; }session TLS keys (${session_keys} h)"
fi
version+="${BENCH_LABEL:+ ($BENCH_LABEL)}"

# --- 3. ports, cleanup --------------------------------------------------------------------------
free_ports() {  # below the ephemeral range, as the integration tests pick them (bench/keys.sh)
  python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import harness
print(harness.free_port(), harness.free_port())' "$top/tests/integration"
}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$out"
pw_read="bench-read-$RANDOM$RANDOM" pw_send="bench-send-$RANDOM$RANDOM"
printf '%s\n' "$pw_read" >"$W/pw-read"
printf '%s\n' "$pw_send" >"$W/pw-send"
chmod 0600 "$W/pw-read" "$W/pw-send"
loadgen=(python3 "$top/bench/loadgen.py" --plan "$plan" --runs "$runs" --client "$client"
  --tmp "$W")

# --- 4. onionmaild (pkcs11 backend on a private SoftHSM2 token, or tpm2 on a private swtpm) -----
read -r smtp_port pop3_port < <(free_ports)
install -d -m 0711 "$W/om"  # the key role (user onionmail when run as root) must reach it
owner_args=()
if [[ $(id -u) -eq 0 ]]; then
  "$top/provisioning/create-users.sh" >/dev/null
  owner_args=(--owner onionmail)
fi
# A private SoftHSM2 token or swtpm (bench/keys.sh), and the uprobes that count its operations.
bench_keys "$keys" "$W/om" "${owner_args[@]}"
tls_conf=""
if ((session_keys > 0)); then tls_conf=$'[tls]\n'"session_key_hours = $session_keys"; fi
om_conf() {  # $1: extra [kdf] section
  cat <<CONF
[server]
domain = "bench.test"
state_dir = "$W/om/state"
[smtp]
listen = "127.0.0.1:$smtp_port"
[pop3]
listen = "127.0.0.1:$pop3_port"
[log]
level = "warning"
[keys]
$keys_conf
$tls_conf
$1
CONF
}
om_conf "" >"$W/om/default.toml"
om_conf $'[kdf]\nargon2_t_cost = 1\nargon2_m_cost_kib = 8\nargon2_parallelism = 1' >"$W/om/small.toml"
# OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1): what an operator who lowers [kdf] gets.
om_conf $'[kdf]\nargon2_t_cost = 2\nargon2_m_cost_kib = 19456\nargon2_parallelism = 1' \
  >"$W/om/owasp.toml"
echo "bench: onionmaild: creating state and 24 users (u1..u8, p1..p8 with the default Argon2id)"
"$ctl" --config "$W/om/default.toml" init >/dev/null 2>"$W/om/init.log" || { cat "$W/om/init.log" >&2; exit 1; }
add_users() {  # config prefix
  local i
  for i in 1 2 3 4 5 6 7 8; do
    "$ctl" --config "$1" user add "$2$i" --smtp-password-file "$W/pw-send" \
      --pop3-password-file "$W/pw-read" >/dev/null 2>&1
  done
}
add_users "$W/om/default.toml" p   # headline: the default KDF (a deliberate cost per login)
add_users "$W/om/small.toml" k     # small KDF, to separate protocol/storage cost from KDF cost
add_users "$W/om/default.toml" u   # SMTP AUTH users and recipients: the default KDF for AUTH
# POP3 first logins: new users for every POP3 phase (c<run>-<conc>-<i>), so that every timed
# login pays the default Argon2id, whatever pop3.unlock_cache_seconds remembers.
fresh_users=$(python3 "$top/bench/loadgen.py" --print-fresh-users c --plan "$plan" --runs "$runs")
owasp_users=$(python3 "$top/bench/loadgen.py" --print-fresh-users o --plan "$plan" --runs "$runs")
echo "bench: onionmaild: creating $(($(wc -w <<<"$fresh_users") + $(wc -w <<<"$owasp_users"))) users for first-login POP3 phases"
for u in $fresh_users; do
  "$ctl" --config "$W/om/default.toml" user add "$u" --smtp-password-file "$W/pw-send" \
    --pop3-password-file "$W/pw-read" >/dev/null 2>&1
done
for u in $owasp_users; do
  "$ctl" --config "$W/om/owasp.toml" user add "$u" --smtp-password-file "$W/pw-send" \
    --pop3-password-file "$W/pw-read" >/dev/null 2>&1
done
# The peers get an ECDSA P-256 certificate of their own (the token's key cannot be copied): the
# same signature algorithm and curve as onionmaild's TLS key in the token, so the same handshake
# work on the client's side and no handicap for the peers.
mkdir -p "$W/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=bench.test -keyout "$W/tls/key.pem" -out "$W/tls/cert.pem" >/dev/null 2>&1
probe_args=()
perf probe -q -d "$probe_group:*" >/dev/null 2>&1 || true  # stale ones from a killed run
if perf stat -e instructions true >/dev/null 2>&1 &&
  perf probe -q -x "$probe_lib" "${probe_adds[@]}" >/dev/null 2>&1; then
  probes=1
fi
t_boot0=$(date +%s%N)
"$om" --config "$W/om/default.toml" 2>"$W/om/onionmaild.log" &
om_pid=$!
# Ready = both front ends greet (they got the TLS identity from the key role,
# which had opened the token); the listeners themselves open at once, so a
# connection only shows readiness once its greeting arrives. (Not the log: the
# bench runs with [log] level = "warning", which hides the "serving" lines.)
# Polled from bash: a Python interpreter takes ~0.3 s to start on some hosts,
# which the figure used to include (twice).
greets() {  # $1 port, $2 expected start of the greeting
  local line=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  IFS= read -r -t 0.5 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == "$2"* ]]
}
for _ in $(seq 1 6000); do greets "$smtp_port" 220 && break; sleep 0.01; done
for _ in $(seq 1 6000); do greets "$pop3_port" +OK && break; sleep 0.01; done
boot_ms=$(( ($(date +%s%N) - t_boot0) / 1000000 ))
key_pid=$(pgrep -P "$om_pid" -x onionmail-key | head -1)
echo "bench: onionmaild pid $om_pid (key role $key_pid), serving ${boot_ms} ms after start (token open)"
if [[ -n "$probes" ]]; then
  # Token operations happen in the key role only.
  probe_args=(--probe-pid "$key_pid" --probe-events "$probe_events")
fi
# swtpm's CPU is the work a TPM chip would do off the CPUs: sampled apart (--aux-pids).
[[ -n "$tpm_pid" ]] && probe_args+=(--aux-pids "$tpm_pid" --aux-name swtpm)
# shellcheck disable=SC2034  # read through the nameref in 5b
om_args=(--name onionmaild --smtp-port "$smtp_port" --pop3-port "$pop3_port" \
  --pids "$om_pid" --om-mbox "$W/om/state/mbox" --auth-pass-file "$W/pw-send" "${probe_args[@]}" \
  --pop3-group "kdf-default-first:c:$W/pw-read:fresh" \
  --pop3-group "kdf-default-repeat:p:$W/pw-read:warm" --pop3-group "kdf-small:k:$W/pw-read" \
  --pop3-group "kdf-owasp-first:o:$W/pw-read:fresh" \
  --pop3-group "kdf-default-repeat-pipelined:p:$W/pw-read:warm,pipelined" \
  --out "$W/onionmaild.json")

# --- 5. Postfix + Dovecot, plain and mail_crypt -------------------------------------------------
# shellcheck disable=SC2034  # filled and read through namerefs
args_plain=() args_crypt=()
for variant in plain crypt; do
  read -r smtp_port pop3_port < <(free_ports)
  vw="$W/$variant"
  mkdir -p "$vw"
  cp -r "$W/tls" "$vw/tls"
  users=(u1 u2 u3 u4 u5 u6 u7 u8 p1 p2 p3 p4 p5 p6 p7 p8)
  pop3_groups=(--pop3-group "sha512-crypt:p:$W/pw-read"
    --pop3-group "sha512-crypt-pipelined:p:$W/pw-read:pipelined")
  if [[ "$variant" == crypt ]]; then
    # a1..a8: the same KDF as onionmaild's default (Argon2id, 64 MiB, t=3), for first logins.
    users+=(a1:argon2id a2:argon2id a3:argon2id a4:argon2id a5:argon2id a6:argon2id a7:argon2id
      a8:argon2id)
    pop3_groups+=(--pop3-group "argon2id:a:$W/pw-read")
  fi
  peer_setup "$vw" "$variant" "$smtp_port" "$pop3_port" "$pw_read" "${users[@]}"
  peer_start "$vw"
  read -r pf_pid dv_pid < <(peer_pids "$vw")
  echo "bench: postfix+dovecot ($variant) pids $pf_pid $dv_pid"
  declare -n args="args_$variant"
  # shellcheck disable=SC2034  # a nameref: this fills args_$variant
  args=(--name "postfix+dovecot-$variant" --smtp-port "$smtp_port" --pop3-port "$pop3_port"
    --pids "$pf_pid,$dv_pid" --maildir "$vw/mail" --auth-pass-file "$W/pw-read"
    "${pop3_groups[@]}" --out "$W/peer-$variant.json")
  unset -n args
done

# --- 5b. the phases, interleaved -----------------------------------------------------------------
# All three servers are up; each repetition runs every server's phases in turn, the order rotating
# (onionmaild, plain, crypt; then plain, crypt, onionmaild; then crypt, onionmaild, plain; ...), so
# that a slow spell of a shared host falls on every server, not on whichever ran then.
# loadgen.py waits for a quiet machine before each server's turn. A dead onionmaild ends the run
# at once, with the end of its log, rather than after the peers' turns.
om_alive() {
  kill -0 "$om_pid" 2>/dev/null && return 0
  echo "bench: onionmaild (pid $om_pid) exited during the run; the end of its log:" >&2
  tail -20 "$W/om/onionmaild.log" >&2
  om_pid=""
  return 1
}
servers=(onionmaild plain crypt)
for ((run = 0; run < runs; run++)); do
  for ((i = 0; i < ${#servers[@]}; i++)); do
    s=${servers[(run + i) % ${#servers[@]}]}
    echo "bench: repetition $((run + 1)) of $runs: $s"
    if [[ $s == onionmaild ]]; then
      declare -n server_args=om_args
    else
      declare -n server_args="args_$s"
    fi
    "${loadgen[@]}" "${server_args[@]}" --only-run "$run" --append
    unset -n server_args
    om_alive || exit 1
  done
done
kill -TERM "$om_pid"
wait "$om_pid" || true
om_pid=""
for variant in plain crypt; do peer_stop "$W/$variant"; done
python3 - "$W/onionmaild.json" "$boot_ms" "$keys_label" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["boot_ms"], d["keys"] = int(sys.argv[2]), sys.argv[3]
json.dump(d, open(sys.argv[1], "w"))
PY

# --- 6. time to unseal at boot (bench/unseal.py: 3-of-5, four onionmaild peers on loopback) ------
unseal_args=() unseal_runs=$([[ $plan == quick ]] && echo 2 || echo 5)
if [[ -x "$(dirname "$om")/onionmail-peer" && -x "$ctl" ]]; then
  echo "bench: onionmaild: time to unseal at boot (3-of-5 unseal peers on loopback)"
  mkdir -p "$W/unseal"
  TMPDIR="$W/unseal" python3 "$top/bench/unseal.py" --onionmaild "$om" --onionmailctl "$ctl" \
    --runs "$unseal_runs" --backend "$keys" --json "$W/unseal.json" \
    >"$W/unseal.log" 2>&1 &
  unseal_pid=$!
  if wait "$unseal_pid"; then
    unseal_args=(--unseal "$W/unseal.json")
  else
    tail -20 "$W/unseal.log" >&2
    echo "bench: bench/unseal.py failed (log above); the report goes without it" >&2
  fi
  unseal_pid=""
else
  echo "bench: no onionmail-peer beside $om: the time to unseal is not measured" >&2
fi

# --- 7. report ----------------------------------------------------------------------------------
python3 "$top/bench/report.py" --onionmaild "$W/onionmaild.json" \
  --peer "$W/peer-plain.json" --peer "$W/peer-crypt.json" "${unseal_args[@]}" \
  --md "$out/$stamp.md" --json "$out/$stamp.json" \
  --command "$invocation" \
  --onionmaild-version "$version"
echo "bench: wrote $out/$stamp.md and $out/$stamp.json"
if ((check)); then  # the report is written either way; the exit status says if all work was done
  python3 "$top/bench/check.py" "$W/onionmaild.json" "$W/peer-plain.json" "$W/peer-crypt.json" \
    --unseal "$W/unseal.json" --unseal-runs "$unseal_runs"
fi
