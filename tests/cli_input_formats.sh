#!/usr/bin/env bash
# One W in every input layout (HDF5, safetensors trajectory with extra tensors
# before W, U16 bits at an odd offset, a checkpoint directory with numeric but
# not lexical names, sharded checkpoints, a glob, a manifest; dead masks from
# other files): every report field equals the HDF5 path's at 1, 2 and 3 ranks
# and with tiny step blocks, input.format and input.steps are right, and the
# bit-level commands read the same step from every layout. Step blocks read
# directly (contiguous HDF5 and safetensors at an even offset, by default),
# mapped in place (--read-method map there) and read into buffers
# (--read-method read, and every other layout) give the same reports.
# usage: cli_input_formats.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output generated.h5 --steps 12 --tokens 37 --dims 24 \
  --special --seed 4 >/dev/null || exit 1
timeout 120 "$python" "$source/tests/reference/make_input_formats.py" generated.h5 . || exit 1
E=model.embed_tokens.weight
identity=(--ignore input/path --ignore input/format --ignore input/dtype --ignore input/steps --ignore input/dataset
          --ignore input/dead_mask)
# The motion keys' training-step twins follow input.steps, which only some layouts carry.
for population in "" live/ dead/; do
  for key in first_motion last_motion last_hop last_thermal frozen_from; do
    identity+=(--ignore "motion/${population}${key}_training_step")
  done
done
failures=0 checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
analyze() {  # analyze RANKS REPORT ARGS...
  local ranks=$1 report=$2
  shift 2
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze "$@" --report "$report" --progress-seconds 0 \
    >/dev/null 2>"$report.err" || { fail "analyze $* at $ranks rank(s)"; sed 's/^/    /' "$report.err" | head -5; }
}
analyze 1 reference.json --input w.h5

# name | expected format | key of steps.json holding the expected steps ("" = none) | read method of auto |
# arguments
cases=(
  "hdf5|hdf5||direct|--input w.h5"
  "safetensors|safetensors||direct|--input traj.safetensors"
  "u16_mask_file|safetensors|traj_u16|read|--input traj_u16.safetensors --dead-mask mask.safetensors:dead"
  "u16_hdf5_mask|safetensors|traj_u16|read|--input traj_u16.safetensors --dead-mask w.h5:dead_mask"
  "directory|series|series|read|--input series --dataset $E --dead-mask series/dead_mask.safetensors:dead_mask"
  "glob|series|series|read|--input files/ckpt-*.safetensors --dataset $E --dead-mask mask.safetensors:dead"
  "manifest|series|series|read|--input manifest.txt --dataset $E --dead-mask mask.safetensors:dead"
)
for entry in "${cases[@]}"; do
  IFS='|' read -r name format steps_key method arguments <<<"$entry"
  set -f  # the glob is latdisp's to expand
  read -r -a args <<<"$arguments"
  set +f
  reports=()
  for ranks in 1 2 3; do
    analyze "$ranks" "$name.np$ranks.json" "${args[@]}"
    reports+=("$name.np$ranks.json")
  done
  analyze 3 "$name.tiny.json" "${args[@]}" --max-steps-per-block 2 --spill-magnitudes --tokens-per-item 5
  analyze 2 "$name.read.json" "${args[@]}" --max-steps-per-block 3 --read-method read
  reports+=("$name.tiny.json" "$name.read.json")
  if [ "$method" = direct ]; then  # read in place by default; mapped on request
    analyze 2 "$name.map.json" "${args[@]}" --max-steps-per-block 3 --read-method map
    reports+=("$name.map.json")
  fi
  checks=$((checks + 1))
  if ! "$python" "$source/tests/compare_reports.py" reference.json "${reports[@]}" "${identity[@]}" >"$name.diff"; then
    fail "$name: reports differ from the HDF5 path's"
    head -10 "$name.diff"
  fi
  checks=$((checks + 1))
  if ! "$python" - "$name.np2.json" "$format" "$steps_key" "$method" "$name.read.json" <<'PY'; then
import json, sys
report, format_, key = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert report["run"]["read_method"] == sys.argv[4], f"read method {report['run']['read_method']} != {sys.argv[4]}"
assert json.load(open(sys.argv[5]))["run"]["read_method"] == "read", "--read-method read did not read"
expected = json.load(open("steps.json"))[key] if key else None
got = report["input"]
assert got["format"] == format_, f"format {got['format']} != {format_}"
assert got["steps"] == expected, f"steps {got['steps']} != {expected}"
assert got["n_dead"] > 0, "the dead mask was not read"
PY
    fail "$name: input.format / input.steps / n_dead / run.read_method"
  fi
done

# --read-method map where W cannot be mapped: one message, exit 1.
checks=$((checks + 1))
timeout 120 "${mpiexec[@]}" -np 2 "$latdisp" analyze --input series --dataset "$E" --read-method map \
  --progress-seconds 0 >/dev/null 2>map_series.err
status=$?
if [ "$status" -ne 1 ] || [ "$(grep -c 'read-method map' map_series.err)" -ne 1 ]; then
  fail "--read-method map on a series: exit $status (expected 1 and one message)"
  head -5 map_series.err
fi

# The bit-level commands read step 8 (planted group: tokens 29..33) the same way.
for location in "w.h5:W@8" "traj.safetensors:W@8" "traj_u16.safetensors:W@8" "series:$E@8" "files/ckpt-*:$E@8" \
  "manifest.txt:$E@8" "series/step_700.safetensors:$E"; do
  tag=$(echo "$location" | tr -c 'A-Za-z0-9\n' _)
  for ranks in 1 2; do
    timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" inspect --matrix "$location" --tokens 0,29,33,36 --dims 0-23 \
      --json >"inspect_$tag.np$ranks.json" 2>"inspect_$tag.np$ranks.err" || fail "inspect $location at $ranks rank(s)"
    timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" blackholes --matrix "$location" --json \
      >"blackholes_$tag.np$ranks.json" 2>"blackholes_$tag.np$ranks.err" || fail "blackholes $location at $ranks rank(s)"
  done
done
checks=$((checks + 1))
if ! "$python" - <<'PY'; then
import glob, json
def load(path, drop):
    report = json.load(open(path))
    for key in drop:
        report.pop(key, None)
    return report
# blackholes: a lone checkpoint file is snapshot 0 of its own, @8 is snapshot 8 (steps,
# formed_at and intact_until name them); the groups and counts must agree.
for kind, drop in (("inspect", ("matrix",)),
                   ("blackholes", ("matrix", "input", "run", "steps", "final_groups", "initial_groups"))):
    paths = sorted(glob.glob(f"{kind}_*.json"))
    reference = load(f"{kind}_w_h5_W_8.np1.json", drop)
    for path in paths:
        assert load(path, drop) == reference, f"{path} differs from the HDF5 step"
    print(f"{kind}: {len(paths)} outputs agree")
groups = json.load(open("blackholes_w_h5_W_8.np1.json"))["groups"]
assert [g["token_ids"] if isinstance(g, dict) else g for g in groups] == [[29, 30, 31, 32, 33]], groups
PY
  fail "bit-level commands differ between layouts"
fi
echo "$((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
