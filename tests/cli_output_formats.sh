#!/usr/bin/env bash
# analyze --output in every element format beside bf16 (docs/formats.md §8, §19):
# f16, f32, f8e4m3 and f8e5m2 trajectories at the edges of the saving kernel
# (tests/reference/make_save_formats.py), from HDF5 and from safetensors, saved
# as HDF5 and as safetensors at 1, 2 and 3 ranks (3: the smallest step blocks
# under a small --memory-budget; 2: --save-dtype int8 under the other zero-ULP
# rule): every tensor equals the exact values computed from the
# definitions (tests/reference/check_saved_output.py: U in the input's
# format), and the tensors are identical for any rank count and container; a
# trajectory without exceptions saves an empty table (HDF5 too). Then a checkpointed run of each format's random walk (walk_FORMAT.h5),
# stopped by SIGUSR1 and resumed with --resume, saves the same tensors and
# reports the same numbers as an uninterrupted run.
# usage: cli_output_formats.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
check="$source/tests/reference/check_saved_output.py"
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
"$python" "$source/tests/reference/make_save_formats.py" . || exit 1
pass=0 fail=0
run() {  # run NAME COMMAND...: counts the outcome (a command that is not a shell function bounded in time)
  local name=$1 bound=(timeout 300)
  shift
  declare -F "$1" >/dev/null && bound=()
  if "${bound[@]}" "$@" >"$name.log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name"
    sed 's/^/    /' "$name.log" | head -12
  fi
}
analyze() {  # analyze RANKS ARGS...
  local ranks=$1
  shift
  "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --progress-seconds 0 "$@"
}

for type in f16 f32 f8e4m3 f8e5m2; do
  run "save_${type}_np1" analyze 1 --input "${type}_edges.h5" --output "${type}_np1.h5"
  run "save_${type}_np3_small" analyze 3 --input "${type}_edges.h5" --output "${type}_np3.safetensors" \
    --max-steps-per-block 2 --read-method read --memory-budget 64MiB
  run "check_$type" "$python" "$check" "${type}_edges.h5" "${type}_np1.h5" "${type}_np3.safetensors" --identical
  run "save_${type}_np2_int8" analyze 2 --input "${type}_edges.safetensors" --output "${type}_np2.safetensors" \
    --save-dtype int8 --zero-ulp min-subnormal
  run "check_${type}_np2_int8" "$python" "$check" "${type}_edges.h5" "${type}_np2.safetensors" --dtype int8 \
    --zero-ulp min-subnormal
done

# A trajectory without a single exception: an empty table, in HDF5 too.
"${mpiexec[@]}" -np 1 "$latdisp" generate --output calm.h5 --element-type f32 --steps 5 --tokens 7 --dims 6 --seed 3 \
  >/dev/null || exit 1
run "save_calm" analyze 2 --input calm.h5 --output calm_out.h5
run "check_calm" "$python" "$check" calm.h5 calm_out.h5
grep -q "(f32, 0 exceptions" check_calm.log || { fail=$((fail + 1)); echo "FAIL: calm.h5 is not exception-free"; }

# --- checkpoint and restart: stopped by SIGUSR1, resumed: the same tensors and report ----------
# shellcheck source=tests/checkpoint_waits.sh
source "$source/tests/checkpoint_waits.sh"
restart() {  # restart TYPE: stop a checkpointed run with SIGUSR1, resume it, compare with a whole run
  local type=$1 input=walk_$1.h5 pid launcher code
  local paced=(--max-steps-per-block 3 --block-pause 0.02 --checkpoint-dir "ck_$type" --checkpoint-seconds 0.1)
  analyze 2 --input "$input" --output "whole_$type.h5" --report "whole_$type.json" >/dev/null || return 1
  timeout 120 "${mpiexec[@]}" -np 2 "$latdisp" analyze --progress-seconds 0 --input "$input" \
    --output "resumed_$type.h5" --report "resumed_$type.json" "${paced[@]}" >/dev/null 2>"stopped_$type.err" &
  pid=$!
  wait_for_step "ck_$type" 12 "$pid" || return 1
  launcher=$(pgrep -P "$pid" | head -1)
  kill -USR1 "$launcher"
  wait "$pid"
  code=$?
  [ "$code" -eq 5 ] || { echo "stopped run: exit $code, expected 5"; tail -3 "stopped_$type.err"; return 1; }
  [ ! -e "resumed_$type.h5" ] || { echo "a stopped run left resumed_$type.h5"; return 1; }
  analyze 2 --input "$input" --output "resumed_$type.h5" --report "resumed_$type.json" "${paced[@]}" --resume \
    >"resumed_$type.out" || return 1
  grep -q "resumed from step" "resumed_$type.out" || { echo "the resumed run does not say so"; return 1; }
  # Everything but the timings (run, and the output's phases).
  "$python" "$source/tests/compare_reports.py" --ignore output "whole_$type.json" "resumed_$type.json" || return 1
  "$python" "$check" "$input" "whole_$type.h5" "resumed_$type.h5" --identical
}
for type in f16 f32 f8e4m3 f8e5m2; do
  run "restart_$type" restart "$type"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
