#!/usr/bin/env bash
# Motion regimes end to end against the independent oracle
# (tests/reference/motion_oracle.py): generated trajectories with the decaying
# move size (a complete freeze, a jitter tail), one with special values and the
# hand-made edge cases, analyzed at 1, 2 and 3 ranks and with tiny step blocks;
# the JSON "motion" section, the per-token table in CSV, HDF5 and safetensors
# (read back independently) and the series CSV must equal the oracle's, and the
# CSV files must be byte-identical for every rank count.
# usage: motion_check.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.csv ./*.json ./*_pt.h5 ./*.pt.h5 ./*.pt.safetensors ./*.safetensors
pass=0 fail=0
oracle=$source/tests/reference/motion_oracle.py
check=$source/tests/reference/check_motion.py

note() {  # note STATUS MESSAGE
  if [ "$1" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}

generate() {  # generate NAME OPTIONS...
  local name=$1
  shift
  timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output "$name.h5" --overwrite "$@" >/dev/null || exit 1
}
generate freeze --steps 48 --tokens 23 --dims 8 --decay-steps 4 --dead-fraction 0.3 --seed 21
generate jitter --steps 48 --tokens 64 --dims 16 --decay-steps 3 --floor 0.01 --dead-fraction 0.2 --seed 22
generate special --steps 9 --tokens 17 --dims 10 --special --decay-steps 2 --floor 0.1 --seed 23
timeout 120 "$python" "$source/tests/reference/make_edge_inputs.py" 5 >/dev/null || exit 1

# analyze NAME RANKS TAG PER_TOKEN_EXTENSION [OPTIONS...]
analyze() {
  local name=$1 ranks=$2 tag=$3 extension=$4
  shift 4
  timeout 300 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$name.h5" --report "$name.$tag.json" \
    --per-token "$name.$tag.pt.$extension" --series-csv "$name.$tag.series.csv" --progress-seconds 0 "$@" \
    >/dev/null 2>"$name.$tag.err"
  note $? "analyze $name at $ranks rank(s) ($tag): $(head -3 "$name.$tag.err")"
}

for name in freeze jitter special; do
  timeout 300 "$python" "$oracle" "$name.h5" --output "$name.oracle.json"
  note $? "oracle on $name"
  analyze "$name" 1 np1 csv
  analyze "$name" 2 np2 h5
  analyze "$name" 3 np3 safetensors
  analyze "$name" 3 tiny csv --max-steps-per-block 2 --spill-magnitudes --tokens-per-item 3
  analyze "$name" 2 np2csv csv
  for tag in np1:csv np2:h5 np3:safetensors tiny:csv np2csv:csv; do
    run=${tag%%:*} extension=${tag##*:}
    timeout 120 "$python" "$check" "$name.oracle.json" "$name.$run.json" --per-token "$name.$run.pt.$extension" \
      --series "$name.$run.series.csv" >"$name.$run.check"
    note $? "$name $run: $(head -5 "$name.$run.check")"
  done
  for run in tiny np2csv; do
    cmp -s "$name.np1.pt.csv" "$name.$run.pt.csv"
    note $? "$name: per-token CSV of $run differs from 1 rank's"
    cmp -s "$name.np1.series.csv" "$name.$run.series.csv"
    note $? "$name: series CSV of $run differs from 1 rank's"
  done
done

# Training step numbers carried by the input (a `steps` dataset) become the series' from/to steps.
cp jitter.h5 stepped.h5 && "$python" -c "
import h5py, numpy as np
with h5py.File('stepped.h5', 'a') as f:
    f['steps'] = 1000 + 25 * np.arange(f['W'].shape[0], dtype=np.int64)"
note $? "adding step numbers to a copy of jitter.h5"
analyze stepped 2 np2 csv
"$python" -c "
import csv, json, sys
rows = list(csv.DictReader(open('stepped.np2.series.csv')))
steps = json.load(open('stepped.np2.json'))['input']['steps']
ok = steps == [1000 + 25 * t for t in range(len(rows) + 1)] and all(
    int(r['from_step']) == 1000 + 25 * t and int(r['to_step']) == 1025 + 25 * t for t, r in enumerate(rows))
sys.exit(0 if ok else 1)"
note $? "the series CSV does not carry the input's training step numbers"
timeout 120 "$python" "$check" jitter.oracle.json stepped.np2.json --per-token stepped.np2.pt.csv \
  --series stepped.np2.series.csv >stepped.np2.check
note $? "stepped: $(head -5 stepped.np2.check)"

# A given hop radius, and the hand-made edge cases (specials, long rows, all/none dead).
timeout 300 "$python" "$oracle" jitter.h5 --hop-radius 2.5 --output jitter.r25.oracle.json
note $? "oracle on jitter with R = 2.5"
analyze jitter 2 r25 safetensors --hop-radius 2.5
timeout 120 "$python" "$check" jitter.r25.oracle.json jitter.r25.json --per-token jitter.r25.pt.safetensors \
  --series jitter.r25.series.csv >jitter.r25.check
note $? "jitter with R = 2.5: $(head -5 jitter.r25.check)"
for input in extremes near_zero binades rand_all all_dead none_dead long_rows fma_frac; do
  timeout 300 "$python" "$oracle" "$input.h5" --output "$input.oracle.json"
  note $? "oracle on $input"
  analyze "$input" 2 np2 h5
  timeout 120 "$python" "$check" "$input.oracle.json" "$input.np2.json" --per-token "$input.np2.pt.h5" \
    --series "$input.np2.series.csv" >"$input.np2.check"
  note $? "$input: $(head -5 "$input.np2.check")"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
