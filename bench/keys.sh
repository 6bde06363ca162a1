# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034: it sets variables for its caller; SC2154: $top is the caller's.)
# bench/keys.sh: sourced by bench/run.sh and bench/ab.sh. Where onionmaild's keys live during a
# benchmark: a private SoftHSM2 token or a private swtpm, made in a directory of the caller's.
#
#   bench_keys KIND DIR [OWNER_ARGS...]
#     KIND pkcs11: a SoftHSM2 token in DIR/softhsm (provisioning/softhsm-init.sh, with
#       OWNER_ARGS, e.g. --owner onionmail); exports SOFTHSM2_CONF.
#     KIND tpm2: a swtpm with its state in DIR/swtpm, on two consecutive free loopback ports
#       (tss2's swtpm TCTI finds the control channel on the port after the TPM's); with
#       BENCH_TCTI set (e.g. device:/dev/tpmrm0), that TPM instead and no swtpm.
#   Sets: keys_conf (the body of onionmaild's [keys] section), keys_label (for reports),
#   tpm_pid (the swtpm's pid, or ""; the caller kills it), probe_lib, probe_group,
#   probe_adds (perf probe -a arguments) and probe_events (the perf events they make): uprobes
#   that count token operations, C_*Init and C_DeriveKey in libsofthsm2.so, or every TPM
#   command (Tss2_Sys_ExecuteAsync in libtss2-sys, through which tss2-esys sends each one).
#   Returns 2 on an unknown KIND, 1 when swtpm does not start (its log is printed).

bench_keys() {
  local kind="$1" dir="$2"
  shift 2
  tpm_pid=""
  case "$kind" in
    pkcs11)
      "$top/provisioning/softhsm-init.sh" --dir "$dir/softhsm" "$@" >/dev/null
      export SOFTHSM2_CONF="$dir/softhsm/softhsm2.conf"
      local lib
      lib=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
      keys_conf="backend = \"pkcs11\"
pkcs11_module = \"$lib\"
token_label = \"onionmaild\"
pin_file = \"$dir/softhsm/user.pin\"
softhsm2_conf = \"$SOFTHSM2_CONF\""
      keys_label="pkcs11 (SoftHSM2 $(softhsm2-util --version 2>/dev/null) token)"
      probe_lib=$(readlink -f "$lib")
      probe_group=probe_libsofthsm2
      probe_adds=(-a C_SignInit -a C_DecryptInit -a C_EncryptInit -a C_DeriveKey)
      probe_events=probe_libsofthsm2:C_SignInit,probe_libsofthsm2:C_DecryptInit
      probe_events+=,probe_libsofthsm2:C_EncryptInit,probe_libsofthsm2:C_DeriveKey
      ;;
    tpm2)
      if [[ -n "${BENCH_TCTI:-}" ]]; then
        keys_conf="backend = \"tpm2\"
tcti = \"$BENCH_TCTI\""
        keys_label="tpm2 ($BENCH_TCTI)"
      else
        # Two consecutive ports below the kernel's ephemeral range, as the integration tests
        # pick them (tests/integration/harness_ports.py: free_port_pair): a burst of loopback
        # connections leaves their local ports in TIME_WAIT, and swtpm, which binds without
        # SO_REUSEADDR, then failed on ports a bind(0) had just found free. Another process
        # may still take them before swtpm binds them, so a swtpm that exits or does not
        # listen within 10 s is retried on new ports, up to 3 times.
        local port ctrl_port attempt _
        mkdir -m 0700 "$dir/swtpm"
        for ((attempt = 1; attempt <= 3; attempt++)); do
          read -r port ctrl_port < <(python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1])
import harness; p = harness.free_port_pair(); print(p, p + 1)' "$top/tests/integration")
          swtpm socket --tpm2 --tpmstate dir="$dir/swtpm" \
            --server type=tcp,port="$port",bindaddr=127.0.0.1 \
            --ctrl type=tcp,port="$ctrl_port",bindaddr=127.0.0.1 \
            --flags not-need-init,startup-clear </dev/null >>"$dir/swtpm.log" 2>&1 &
          tpm_pid=$!
          # Up: both ports answer and swtpm is still running a moment later (it exits when it
          # cannot bind one of them).
          for _ in $(seq 1 200); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
              (exec 3<>"/dev/tcp/127.0.0.1/$ctrl_port") 2>/dev/null; then
              sleep 0.1
              kill -0 "$tpm_pid" 2>/dev/null && break 2
            fi
            kill -0 "$tpm_pid" 2>/dev/null || break
            sleep 0.05
          done
          kill "$tpm_pid" 2>/dev/null || true
          wait "$tpm_pid" 2>/dev/null || true
          tpm_pid=""
        done
        if [[ -z "$tpm_pid" ]]; then
          echo "keys.sh: swtpm did not start (3 attempts); its log, $dir/swtpm.log:" >&2
          tail -5 "$dir/swtpm.log" >&2
          return 1
        fi
        keys_conf="backend = \"tpm2\"
tcti = \"swtpm:host=127.0.0.1,port=$port\""
        keys_label="tpm2 (swtpm $(swtpm --version 2>/dev/null |
          sed -n 's/.*version \([0-9.]*\).*/\1/p'), TCP TCTI)"
      fi
      probe_lib=$(readlink -f "$(ls /usr/lib/*/libtss2-sys.so.1 /usr/lib/libtss2-sys.so.1 \
        2>/dev/null | head -1)")
      probe_group=probe_libtss2
      probe_adds=(-a tpm_command=Tss2_Sys_ExecuteAsync)
      probe_events=probe_libtss2:tpm_command
      ;;
    *) return 2 ;;
  esac
}
