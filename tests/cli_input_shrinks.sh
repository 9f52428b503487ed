#!/usr/bin/env bash
# An input cut short while analyze reads it, for real: the file is truncated
# once the run has started (its first progress line), in both read methods.
# Expected: exit 2 (input) with a message about the shrunk or truncated input,
# no report, no crash report.
# usage: cli_input_shrinks.sh LATDISP WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 work=$2 ranks=$3
shift 3
mpiexec=("$@")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
for method in map read; do
  timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output w.h5 --steps 40 --tokens 2000 --dims 64 \
    --overwrite >/dev/null || exit 1
  # Ten blocks, a second's pause after each: the truncation lands mid-run.
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input w.h5 --read-method "$method" \
    --max-steps-per-block 5 --block-pause 1 --progress-seconds 0.1 --report report.json --overwrite \
    >/dev/null 2>"$method.err" &
  job=$!
  for _ in $(seq 300); do
    grep -q 'transitions' "$method.err" 2>/dev/null && break
    sleep 0.1
  done
  truncate -s 3000000 w.h5
  wait "$job"
  status=$?
  if [ "$status" -ne 2 ] || ! grep -Eq 'shrank|truncated' "$method.err" || grep -q 'Signal:' "$method.err" ||
    [ -e report.json ]; then
    echo "FAIL: --read-method $method: exit $status (expected 2 with a message, no report)"
    sed 's/^/    /' "$method.err" | head -8
    failures=$((failures + 1))
  fi
  rm -f report.json
done
[ "$failures" -eq 0 ]
