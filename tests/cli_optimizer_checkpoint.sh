#!/usr/bin/env bash
# Checkpoint and restart of `latdisp optimizer` at one rank count: a run stopped
# by SIGTERM (to mpirun) and a run whose mpirun and ranks are SIGKILLed are
# resumed with --resume (the second with other step blocks, which do not shape
# the result) and must give the uninterrupted run's JSON report outside "run",
# the same hyperparameters, byte-identical per-token and series CSVs and the
# same text report but for the line saying where it resumed. A checkpoint of
# other options, or of analyze, is refused with exit 1. No fixed sleeps: each
# interruption waits (bounded) for the manifest to reach a step, and
# --block-pause paces the run so that work is left.
# usage: cli_optimizer_checkpoint.sh LATDISP PYTHON SOURCE_DIR WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
rm -rf "$work"
mkdir -p "$work"
steps=81
block=3  # --max-steps-per-block of the checkpointed runs
pass=0 failed=0
check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then
    pass=$((pass + 1)); echo "PASS: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"
  fi
}

input=$work/run.h5
"$python" "$source/tests/optimizer_synthetic_run.py" "$input" "$steps" 29 16 || { echo "cannot write the input"; exit 1; }
outputs() {  # outputs NAME: the report and tables of run NAME
  echo --report "$work/$1.json" --per-token "$work/$1.csv" --series-csv "$work/$1_series.csv" --overwrite
}
# shellcheck disable=SC2046  # outputs gives separate words on purpose
timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" optimizer --input "$input" $(outputs reference) \
  --progress-seconds 0 >"$work/reference.out" || { echo "the uninterrupted run failed"; exit 1; }

# audit DIR NAME [ARGS...]: the paced, checkpointed run, in the background; sets
# run_pid (timeout's, whose child is mpirun). Output in NAME.out/.err.
audit() {
  local dir=$1 name=$2
  shift 2
  # shellcheck disable=SC2046
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" optimizer --input "$input" $(outputs "$name") \
    --progress-seconds 0 --max-steps-per-block "$block" --block-pause 0.1 --checkpoint-dir "$dir" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  run_pid=$!
}

# shellcheck source=tests/checkpoint_waits.sh
source "$source/tests/checkpoint_waits.sh"

# same_as_reference NAME FROM: run NAME resumed from step FROM gave the uninterrupted run's results.
same_as_reference() {
  local name=$1 from=$2
  "$python" "$source/tests/compare_reports.py" "$work/reference.json" "$work/$name.json" || return 1
  "$python" - "$work/reference.json" "$work/$name.json" "$from" <<'EOF' || return 1
import json, sys
reference, resumed = (json.load(open(path))["run"] for path in sys.argv[1:3])
if reference["hyperparameters"] != resumed["hyperparameters"]:
    sys.exit("the hyperparameters differ")
if resumed["resumed_from_step"] != int(sys.argv[3]):
    sys.exit(f"resumed_from_step {resumed['resumed_from_step']}, expected {sys.argv[3]}")
EOF
  cmp "$work/reference.csv" "$work/$name.csv" || return 1
  cmp "$work/reference_series.csv" "$work/${name}_series.csv" || return 1
  # Outside the timings: the last line, where time went (docs/optimizer.md §6).
  grep -v -e "(resumed from step $from of the checkpoint" -e "^where time went (" "$work/$name.out" |
    diff <(grep -v "^where time went (" "$work/reference.out") - ||
    { echo "$name: the text reports differ"; return 1; }
  grep -q "resumed from step $from" "$work/$name.out" || { echo "$name: the text does not say where it resumed"; return 1; }
}

# resume_to_end DIR NAME [ARGS...]: --resume to completion; the reference's results; the checkpoint removed.
resume_to_end() {
  local dir=$1 name=$2 from code
  shift 2
  from=$(manifest_step "$dir") || return 1
  audit "$dir" "$name" --resume "$@"
  wait "$run_pid"
  code=$?
  [ "$code" -eq 0 ] || { echo "$name: exit code $code"; tail -n 5 "$work/$name.err"; return 1; }
  same_as_reference "$name" "$from" || return 1
  [ ! -e "$dir/manifest.json" ] || { echo "$name: the checkpoint was not removed after the completed run"; return 1; }
}

# refused NAME MESSAGE ARGS...: a run that must exit 1 at once with one error line holding MESSAGE.
refused() {
  local name=$1 message=$2 code
  shift 2
  timeout 60 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@" --progress-seconds 0 >"$work/$name.out" 2>"$work/$name.err"
  code=$?
  [ "$code" -eq 1 ] || { echo "$name: exit code $code, expected 1"; tail -n 5 "$work/$name.err"; return 1; }
  [ "$(grep -c "latdisp: error:" "$work/$name.err")" -eq 1 ] || { echo "$name: not one error line:"; cat "$work/$name.err"; return 1; }
  grep -q -- "$message" "$work/$name.err" || { echo "$name: no '$message' in:"; cat "$work/$name.err"; return 1; }
}

# --- SIGTERM to mpirun: the block finishes, the checkpoint is written, exit 5 --------
term_mpirun() {
  local dir=$work/ck_term code first
  local -x OMPI_MCA_odls_base_sigkill_timeout=1  # mpirun's grace before SIGKILL (Open MPI's default 1 s)
  audit "$dir" term_a --checkpoint-seconds 0.2
  wait_for_step "$dir" 10 || return 1
  kill -TERM "$(launcher_pid)"
  wait "$run_pid"
  code=$?
  grep -q "stopped by SIGTERM" "$work/term_a.err" || { echo "no 'stopped by SIGTERM':"; tail -n 5 "$work/term_a.err"; return 1; }
  [ "$code" -ne 0 ] || { echo "the stopped run exited 0"; return 1; }
  first=$(manifest_step "$dir")
  if [ "$first" -lt 10 ] || [ "$first" -ge $((steps - 1)) ]; then echo "stopped at step $first"; return 1; fi
  grep -q "continue from step $first" "$work/term_a.err" || { echo "the message does not name step $first"; return 1; }
  cp -a "$dir" "$work/ck_base"  # for the refusals
  resume_to_end "$dir" term_b
}
check "SIGTERM to mpirun: checkpoint, resume: the uninterrupted run's results" term_mpirun

# --- SIGKILL of mpirun and its ranks after periodic checkpoints ---------------------
kill_all() {
  local dir=$work/ck_kill launcher pids code
  audit "$dir" kill_a --checkpoint-seconds 0.01
  wait_for_step "$dir" 30 || return 1
  launcher=$(launcher_pid)
  pids=$(rank_pids)
  # shellcheck disable=SC2086  # one PID per word
  kill -KILL "$launcher" $pids
  wait "$run_pid" 2>/dev/null
  [ "$(manifest_step "$dir")" -lt $((steps - 1)) ] || { echo "the killed run had finished"; return 1; }
  # Other step blocks (4 snapshots, not 3) do not shape the result.
  block=4
  resume_to_end "$dir" kill_b
  code=$?
  block=3
  return "$code"
}
check "SIGKILL of mpirun and ranks after periodic checkpoints, resume: the uninterrupted run's results" kill_all

# --- refusals -------------------------------------------------------------------------
if [ -d "$work/ck_base" ]; then
  check "another --update-rule: refused" refused other_rule "was written with --update-rule" optimizer \
    --input "$input" --per-token "$work/other_rule.csv" --checkpoint-dir "$work/ck_base" --resume --update-rule fused
  check "a checkpoint of the audit given to analyze: refused" refused analyze_dir "written by latdisp optimizer" \
    analyze --input "$input" --checkpoint-dir "$work/ck_base" --resume
  check "a directory that holds a checkpoint, without --resume: refused" refused no_resume "--resume" optimizer \
    --input "$input" --checkpoint-dir "$work/ck_base"
fi

echo "cli_optimizer_checkpoint (np $ranks): $pass passed, $failed failed"
[ "$failed" -eq 0 ]
