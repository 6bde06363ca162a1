#!/bin/bash
# prints every 2 s: elapsed, sum of Pss over onionmail* processes (kB), per-role Pss
t0=$(date +%s)
while true; do
  tot=0; parts=""
  for p in $(pgrep -f '^[^ ]*onionmail(d|-key|-smtp|-pop3|-peer)( |$)'); do
    v=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null); [ -z "$v" ] && continue
    tot=$((tot+v)); parts="$parts $(cat /proc/$p/comm 2>/dev/null)=$v"
  done
  echo "$(( $(date +%s)-t0 )) total_kB=$tot$parts"
  sleep 2
done
