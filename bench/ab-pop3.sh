#!/usr/bin/env bash
# bench/ab-pop3.sh: A/B of two onionmaild builds on the POP3 path (a smaller, faster check than
# bench/run.sh, for one change). One state dir (pkcs11 backend on a SoftHSM2 token, 8 users with
# a tiny Argon2id so that the KDF does not hide the rest); for each of RUNS rounds and each
# binary in turn: start it, refill every mailbox with N messages of SIZE bytes (untimed), run 8
# POP3 sessions (STLS, login, LIST, RETR all, DELE all, QUIT) at concurrency C, stop it.
# Prints RETR msg/s and server CPU ms per message, per run, and the medians.
#
# Usage: sudo bench/ab-pop3.sh ONIONMAILD_A ONIONMAILD_B ONIONMAILCTL OM_LOADGEN [N SIZE C RUNS]
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
a="$1" b="$2" ctl="$3" client="$4" n="${5:-100}" size="${6:-10240}" conc="${7:-8}" runs="${8:-3}"
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/onionmail-ab.XXXXXX)
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$W"' EXIT
"$top/provisioning/softhsm-init.sh" --dir "$W/softhsm" >/dev/null
export SOFTHSM2_CONF="$W/softhsm/softhsm2.conf"
lib=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
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
[keys]
backend = "pkcs11"
pkcs11_module = "$lib"
token_label = "onionmaild"
pin_file = "$W/softhsm/user.pin"
softhsm2_conf = "$SOFTHSM2_CONF"
[kdf]
argon2_t_cost = 1
argon2_m_cost_kib = 8
argon2_parallelism = 1
CONF
echo "pw-ab-$RANDOM" >"$W/pw"
echo "pw-ab-send-$RANDOM" >"$W/pw-send"
"$ctl" --config "$W/om.toml" init >/dev/null 2>&1
for i in 1 2 3 4 5 6 7 8; do
  "$ctl" --config "$W/om.toml" user add "k$i" --smtp-password-file "$W/pw-send" \
    --pop3-password-file "$W/pw" >/dev/null 2>&1
done
users=k1,k2,k3,k4,k5,k6,k7,k8
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for run in $(seq 1 "$runs"); do
  for label in A B; do
    bin=$a; [[ $label == B ]] && bin=$b
    "$bin" --config "$W/om.toml" 2>>"$W/om.log" &
    pid=$!
    for _ in $(seq 1 200); do
      (exec 3<>/dev/tcp/127.0.0.1/12910) 2>/dev/null && break
      sleep 0.05
    done
    "$client" smtp --port 12925 --conc 8 --count $((n * 8)) --size "$size" --users "$users" \
      >/dev/null
    c0=$(cpu_of "$pid")
    t0=$(date +%s.%N)
    out=$("$client" pop3 --port 12910 --conc "$conc" --count 8 --users "$users" \
      --pass-file "$W/pw" --dele)
    t1=$(date +%s.%N)
    c1=$(cpu_of "$pid")
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    python3 - "$label" "$run" "$t0" "$t1" "$c0" "$c1" "$out" <<'PY'
import json, os, sys
label, run, t0, t1, c0, c1, out = sys.argv[1:]
d = json.loads(out)
msgs = sum(t["msgs"] for t in d["threads"]); errs = sum(len(t["errors"]) for t in d["threads"])
wall = float(t1) - float(t0); cpu = (int(c1) - int(c0)) / os.sysconf("SC_CLK_TCK")
print(f"{label} run {run}: {msgs} msgs in {wall:.2f} s = {msgs / wall:.1f} msg/s, "
      f"server CPU {cpu * 1e3 / max(msgs, 1):.2f} ms/msg, errors {errs}", flush=True)
PY
  done
done
