#!/usr/bin/env bash
# bench/ab.sh: A/B of two onionmaild builds on the SMTP or the POP3 path (a smaller, faster check
# than bench/run.sh, for one change). One state dir (pkcs11 backend on a SoftHSM2 token, or tpm2 on
# swtpm, 8 users with a tiny Argon2id so that the KDF does not hide the rest); for each of RUNS
# rounds and each
# binary in turn: start it, then
#   smtp: deliver 8*N messages of SIZE bytes at concurrency C (STARTTLS, AUTH PLAIN, one
#         connection per message: bench/run.sh's phase "smtp");
#   pop3: refill every mailbox with N messages of SIZE bytes (untimed), then run 8 POP3 sessions
#         (STLS, login, LIST, RETR all, DELE all, QUIT) at concurrency C;
# stop it. Prints msg/s and the server's CPU per message (every process of the server, via
# bench/procmon.py), per run, and the medians.
#
# Usage: sudo bench/ab.sh smtp|pop3 ONIONMAILD_A ONIONMAILD_B ONIONMAILCTL OM_LOADGEN [N SIZE C RUNS]
# Environment: BENCH_TMP (where the state dir goes; default /tmp); AB_PIPELINING=1 (smtp: MAIL,
# RCPT and DATA in one write, as bench/run.sh's phase "smtp-pipelined"; pop3: every RETR and
# DELE and the QUIT in one write after LIST); AB_KEYS=tpm2 (the tpm2 key backend on a private
# swtpm on two free loopback ports (bench/keys.sh), started for the whole run, instead of
# SoftHSM2: swtpm's CPU per message is printed apart, as the work a TPM chip would do; A and B
# may then be the same binary, to compare with a pkcs11 run); with AB_KEYS=tpm2, AB_TCTI=device:/dev/tpmrm0 uses that TPM instead
# of a swtpm (the machine's own chip: its keys are made under the owner hierarchy, their blobs
# stay in the temp dir and go with it; nothing is written to the TPM's NV memory);
# AB_SESSION_KEYS=H ([tls] session_key_hours = H for both binaries: handshakes signed by the key
# role's session key, docs/keys.md).
set -euo pipefail
usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }  # the header comment
[[ $# -ge 5 && ( $1 == smtp || $1 == pop3 ) ]] || { usage; exit 2; }
mode="$1" a="$2" b="$3" ctl="$4" client="$5"
n="${6:-100}" size="${7:-10240}" conc="${8:-8}" runs="${9:-3}"
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "${BENCH_TMP:-/tmp}/onionmail-ab.XXXXXX")
chmod 0711 "$W"  # the key role (user onionmail when run as root) must reach it
pid="" tpm_pid=""
# Every step may fail (a server or swtpm that already died): under set -e a failing kill would
# end the trap before the rest of the clean-up.
trap '[[ -n "$pid" ]] && { kill "$pid" 2>/dev/null || true; }
  [[ -n "$tpm_pid" ]] && { kill "$tpm_pid" 2>/dev/null || true; }
  rm -rf "$W"' EXIT
owner_args=()
if [[ $(id -u) -eq 0 ]]; then
  "$top/provisioning/create-users.sh" >/dev/null
  owner_args=(--owner onionmail)
fi
keys="${AB_KEYS:-pkcs11}"
[[ $keys == pkcs11 || $keys == tpm2 ]] || { echo "ab.sh: AB_KEYS must be pkcs11 or tpm2" >&2; exit 2; }
tls_conf=""  # left out unless asked for: builds older than the option refuse the key
if [[ -n "${AB_SESSION_KEYS:-}" ]]; then
  [[ $AB_SESSION_KEYS =~ ^[0-9]+$ ]] || { echo "ab.sh: AB_SESSION_KEYS must be a number of hours" >&2; exit 2; }
  tls_conf="[tls]
session_key_hours = $AB_SESSION_KEYS"
fi
source "$top/bench/keys.sh"  # the token or swtpm, in $W
BENCH_TCTI="${AB_TCTI:-}" bench_keys "$keys" "$W" "${owner_args[@]}"
cat >"$W/om.toml" <<CONF
[server]
domain = "bench.test"
state_dir = "$W/state"
[smtp]
listen = "127.0.0.1:12925"
[pop3]
listen = "127.0.0.1:12910"
[log]
level = "warning"
$tls_conf
[keys]
$keys_conf
[kdf]
argon2_t_cost = 1
argon2_m_cost_kib = 8
argon2_parallelism = 1
CONF
echo "pw-ab-read-$RANDOM$RANDOM" >"$W/pw"
echo "pw-ab-send-$RANDOM$RANDOM" >"$W/pw-send"
"$ctl" --config "$W/om.toml" init >/dev/null 2>>"$W/ctl.log" || { cat "$W/ctl.log" >&2; exit 1; }
for i in 1 2 3 4 5 6 7 8; do
  "$ctl" --config "$W/om.toml" user add "k$i" --smtp-password-file "$W/pw-send" \
    --pop3-password-file "$W/pw" >/dev/null 2>>"$W/ctl.log" || { cat "$W/ctl.log" >&2; exit 1; }
done
users=k1,k2,k3,k4,k5,k6,k7,k8
# The server's CPU: every process of its tree (the roles are children of the supervisor).
cpu_of() { python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import procmon
print(procmon.ProcTree([sys.argv[2]]).cpu_seconds())' "$top/bench" "$1"; }
fill() {  # N messages of SIZE bytes into every mailbox, with AUTH as the recipient
  "$client" smtp --port 12925 --conc "$1" --count "$2" --size "$size" --users "$users" \
    --auth-pass-file "$W/pw-send" ${AB_PIPELINING:+--pipelining}
}
results="$W/results"
for run in $(seq 1 "$runs"); do
  for label in A B; do
    bin=$a; [[ $label == B ]] && bin=$b
    "$bin" --config "$W/om.toml" 2>>"$W/om.log" &
    pid=$!
    for _ in $(seq 1 200); do
      (exec 3<>/dev/tcp/127.0.0.1/12910) 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ab.sh: $label ($bin) did not start; its log:" >&2
      tail -20 "$W/om.log" >&2
      pid=""
      exit 1
    fi
    # One untimed message per user first: the AUTH cache and the first handshake are warm.
    fill 8 8 >/dev/null
    [[ $mode == pop3 ]] && fill 8 $((n * 8)) >/dev/null
    c0=$(cpu_of "$pid") k0=0
    [[ -n "$tpm_pid" ]] && k0=$(cpu_of "$tpm_pid")
    t0=$(date +%s.%N)
    if [[ $mode == smtp ]]; then
      fill "$conc" $((n * 8)) >"$W/out.json"
    else
      "$client" pop3 --port 12910 --conc "$conc" --count 8 --users "$users" \
        --pass-file "$W/pw" --dele ${AB_PIPELINING:+--pipelining} >"$W/out.json"
    fi
    t1=$(date +%s.%N)
    c1=$(cpu_of "$pid") k1=0
    [[ -n "$tpm_pid" ]] && k1=$(cpu_of "$tpm_pid")
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    python3 - "$label" "$run" "$t0" "$t1" "$c0" "$c1" "$W/out.json" "$k0" "$k1" "${tpm_pid:+swtpm}" <<'PY' | tee -a "$results"
import json, sys
# The client's report goes through a file: with tens of thousands of messages its per-message
# figures are larger than an argument may be.
label, run, t0, t1, c0, c1, out, k0, k1, swtpm = sys.argv[1:]
with open(out) as fh:
    d = json.load(fh)
msgs = sum(t["msgs"] for t in d["threads"]); errs = sum(len(t["errors"]) for t in d["threads"])
wall = float(t1) - float(t0); cpu = float(c1) - float(c0)
print(f"{label} run {run}: {msgs} msgs in {wall:.2f} s = {msgs / wall:.1f} msg/s, "
      f"server CPU {cpu * 1e3 / max(msgs, 1):.2f} ms/msg, errors {errs}"
      + (f", swtpm CPU {(float(k1) - float(k0)) * 1e3 / max(msgs, 1):.2f} ms/msg"
         if swtpm else ""), flush=True)
PY
  done
done
python3 - "$results" <<'PY'
import re, statistics, sys
rows = {"A": ([], []), "B": ([], [])}
for line in open(sys.argv[1]):
    m = re.match(r"(\w) run \d+: .* = ([\d.]+) msg/s, server CPU ([\d.]+) ms/msg", line)
    if m:
        rows[m[1]][0].append(float(m[2])); rows[m[1]][1].append(float(m[3]))
for label, (rate, cpu) in rows.items():
    if rate:
        print(f"{label} median: {statistics.median(rate):.1f} msg/s "
              f"({min(rate):.1f}..{max(rate):.1f}), server CPU {statistics.median(cpu):.2f} ms/msg")
PY
