#!/usr/bin/env bash
# Every HDF5 file latdisp writes (generate, pack, analyze --output and
# --per-token, blackholes --output) has the same bytes when written twice from
# the same input: no object carries a creation or modification time. Between
# the two runs the test sleeps 1.1 s so that the clock's second has surely
# changed (HDF5 stores times in whole seconds): that makes a stored time show
# up as a difference, it does not wait for anything to happen.
# usage: cli_outputs_byte_stable.sh LATDISP WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 work=$2 ranks=$3
shift 3
mpiexec=("$@")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
run() { timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@" >/dev/null; }

# write_all SUFFIX: every HDF5 output once, named *.SUFFIX.h5.
write_all() {
  local s=$1
  # No dead tokens: an empty dead_token_ids is saved too.
  run generate --output "w.$s.h5" --steps 9 --tokens 23 --dims 16 --special --seed 5 --dead-fraction 0 || return 1
  run pack --input "w.$s.h5" --output "packed.$s.h5" || return 1
  run analyze --input w.a.h5 --output "saved.$s.h5" --per-token "tokens.$s.h5" --progress-seconds 0 || return 1
  run blackholes --matrix m.safetensors --output "groups.$s.h5" || return 1
}

# Inputs read by both runs under one name: the groups file records its matrix's path.
run generate --matrix --output m.safetensors --tokens 300 --dims 8 --planted-groups 3 --group-size 20 --seed 2 ||
  exit 1

write_all a || { echo "FAIL: writing the first set of files"; exit 1; }
sleep 1.1
write_all b || { echo "FAIL: writing the second set of files"; exit 1; }
failures=0
for name in w packed saved tokens groups; do
  if cmp "$name.a.h5" "$name.b.h5"; then echo "ok: $name.h5 byte-identical"; else
    echo "FAIL: $name.h5 differs between two runs"
    failures=$((failures + 1))
  fi
done
exit $((failures > 0))
