#!/usr/bin/env bash
# Checkpoint and restart at one rank count: runs interrupted by SIGUSR1 (to
# mpirun, then to one rank), SIGTERM (to mpirun) and SIGKILL (of mpirun and its
# ranks) are resumed with --resume and must give the same report, outside
# "run", as an uninterrupted run, including a resume interrupted again; a
# damaged, foreign (other input, changed input, other options, other rank
# count) or missing checkpoint is refused with exit 1 and one message; a
# half-written newer generation falls back to the complete one. No fixed
# sleeps: every interruption waits (bounded) for the checkpoint manifest to
# reach a step, and --block-pause paces the run so that there is work left.
# usage: cli_checkpoint.sh LATDISP PYTHON COMPARE_REPORTS WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 python=$2 compare=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
rm -rf "$work"
mkdir -p "$work"
steps=161
pause=0.01  # --block-pause of the runs that get interrupted
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

"${mpiexec[@]}" -np 1 "$latdisp" generate --output "$work/w.h5" --steps "$steps" --tokens 61 --dims 24 --special \
  --seed 7 --overwrite >/dev/null || { echo "generate failed"; exit 1; }
input=$work/w.h5
# The reference: one uninterrupted run with the budget's own step blocks.
timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$input" --report "$work/reference.json" \
  --progress-seconds 0 >/dev/null || { echo "reference run failed"; exit 1; }

extra=()                       # more analyze arguments (a series' dataset and mask)
reference=$work/reference.json  # the uninterrupted run's report
# analyze DIR NAME [ARGS...]: the paced, checkpointed run, in the background;
# sets run_pid (timeout's, whose child is mpirun). Output in NAME.out/.err.
analyze() {
  local dir=$1 name=$2
  shift 2
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$input" --report "$work/$name.json" \
    --progress-seconds 0 --max-steps-per-block 3 --block-pause "$pause" --checkpoint-dir "$dir" "${extra[@]}" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  run_pid=$!
}

# shellcheck source=tests/checkpoint_waits.sh
source "$(dirname "${BASH_SOURCE[0]}")/checkpoint_waits.sh"

# finish NAME CODE MESSAGE: wait for the run; its exit code must be CODE and its stderr hold MESSAGE.
finish() {
  local name=$1 want=$2 message=$3 code
  wait "$run_pid"
  code=$?
  if [ "$code" -ne "$want" ]; then
    echo "$name: exit code $code, expected $want"; tail -n 5 "$work/$name.err"; return 1
  fi
  [ -z "$message" ] || grep -q -- "$message" "$work/$name.err" ||
    { echo "$name: no '$message' in:"; tail -n 5 "$work/$name.err"; return 1; }
}

# resume_to_end DIR NAME: --resume to completion; same report as the reference, and it says where it resumed.
resume_to_end() {
  local dir=$1 name=$2 from pause=0
  from=$(manifest_step "$dir") || return 1
  analyze "$dir" "$name" --resume
  finish "$name" 0 "" || return 1
  "$python" "$compare" "$reference" "$work/$name.json" || return 1
  "$python" - "$work/$name.json" "$from" <<'EOF' || return 1
import json, sys
run = json.load(open(sys.argv[1]))["run"]
sys.exit(0 if run["resumed_from_step"] == int(sys.argv[2]) else f"resumed_from_step {run['resumed_from_step']}")
EOF
  grep -q "resumed from step $from" "$work/$name.out" || { echo "$name: the text report does not say 'resumed from step $from'"; return 1; }
  [ ! -e "$dir/manifest.json" ] || { echo "$name: the checkpoint was not removed after the completed run"; return 1; }
}

# refused NAME MESSAGE ARGS...: a run that must exit 1 at once with one error line holding MESSAGE.
refused() {
  local name=$1 message=$2 code
  shift 2
  timeout 60 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --progress-seconds 0 "$@" \
    >"$work/$name.out" 2>"$work/$name.err"
  code=$?
  [ "$code" -eq 1 ] || { echo "$name: exit code $code, expected 1"; tail -n 5 "$work/$name.err"; return 1; }
  [ "$(grep -c "latdisp: error:" "$work/$name.err")" -eq 1 ] || { echo "$name: not one error line:"; cat "$work/$name.err"; return 1; }
  grep -q -- "$message" "$work/$name.err" || { echo "$name: no '$message' in:"; cat "$work/$name.err"; return 1; }
}

# --- SIGUSR1 to mpirun, resume, SIGTERM to one rank, resume to the end ------------
usr1() {
  local dir=$work/ck_usr1 first
  analyze "$dir" usr1_a --checkpoint-seconds 0.2
  wait_for_step "$dir" 20 || return 1
  kill -USR1 "$(launcher_pid)"
  finish usr1_a 5 "stopped by SIGUSR1" || return 1
  first=$(manifest_step "$dir")
  if [ "$first" -lt 20 ] || [ "$first" -ge $((steps - 1)) ]; then echo "stopped at step $first"; return 1; fi
  grep -q "continue from step $first" "$work/usr1_a.err" || { echo "the message does not name step $first"; return 1; }
  cp -a "$dir" "$work/ck_base"  # a stopped checkpoint for the refusal checks
  # Resumed with the general magnitudes spilled to a scratch file: not result-shaping.
  analyze "$dir" usr1_b --resume --checkpoint-seconds 0.2 --spill-magnitudes
  wait_for_step "$dir" $((first + 30)) || return 1
  kill -TERM "$(rank_pids | tail -1)"
  finish usr1_b 5 "stopped by SIGTERM" || return 1
  [ "$(manifest_step "$dir")" -gt "$first" ] || { echo "the second stop did not advance the checkpoint"; return 1; }
  resume_to_end "$dir" usr1_c
}
check "SIGUSR1 to mpirun, resume, SIGTERM to a rank, resume again: same report" usr1

# --- SIGTERM to mpirun (it passes SIGTERM on to the ranks after a grace) -------------
term_mpirun() {
  local dir=$work/ck_term pause=0.05  # mpirun passes SIGTERM on after a second: leave it work for longer
  local -x OMPI_MCA_odls_base_sigkill_timeout=1  # and SIGKILL a second later (Open MPI's default grace)
  # A periodic checkpoint first shows the run under way; the stop must then write a newer one.
  analyze "$dir" term_a --checkpoint-seconds 0.2
  wait_for_step "$dir" 10 || return 1
  kill -TERM "$(launcher_pid)"
  wait "$run_pid"
  grep -q "stopped by SIGTERM" "$work/term_a.err" || { echo "no 'stopped by SIGTERM':"; tail -n 5 "$work/term_a.err"; return 1; }
  resume_to_end "$dir" term_b
}
check "SIGTERM to mpirun: checkpoint, resume: same report" term_mpirun

# --- SIGKILL of mpirun and its ranks after periodic checkpoints ---------------------
kill_all() {
  local dir=$work/ck_kill launcher pids
  analyze "$dir" kill_a --checkpoint-seconds 0.01
  wait_for_step "$dir" 30 || return 1
  launcher=$(launcher_pid)
  pids=$(rank_pids)
  # shellcheck disable=SC2086  # one PID per word
  kill -KILL "$launcher" $pids
  wait "$run_pid" 2>/dev/null
  analyze "$dir" kill_b --resume --checkpoint-seconds 0.01
  wait_for_step "$dir" 80 || return 1
  launcher=$(launcher_pid)
  pids=$(rank_pids)
  # shellcheck disable=SC2086
  kill -KILL "$launcher" $pids
  wait "$run_pid" 2>/dev/null
  resume_to_end "$dir" kill_c
}
check "SIGKILL of mpirun and ranks (twice) after periodic checkpoints, resume: same report" kill_all

# --- a checkpoint series (a glob of safetensors checkpoints) ------------------------
series() {
  local formats=$work/formats dir=$work/ck_series
  local input="$formats/files/ckpt-*.safetensors" reference=$work/series_reference.json
  local extra=(--dataset model.embed_tokens.weight --dead-mask "$formats/mask.safetensors:dead")
  timeout 120 "$python" "$(dirname "$compare")/reference/make_input_formats.py" "$work/w.h5" "$formats" || return 1
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$input" "${extra[@]}" --report "$reference" \
    --progress-seconds 0 >/dev/null || { echo "the uninterrupted series run failed"; return 1; }
  analyze "$dir" series_a --checkpoint-seconds 0.2
  wait_for_step "$dir" 20 || return 1
  kill -USR1 "$(launcher_pid)"
  finish series_a 5 "stopped by SIGUSR1" || return 1
  cp -a "$dir" "$work/ck_series_touched"
  resume_to_end "$dir" series_b || return 1
  # One checkpoint file of the series modified since: refused.
  local checkpoints=("$formats"/files/ckpt-*.safetensors)
  touch -d "@$(($(date +%s) + 5))" "${checkpoints[3]}"
  refused series_touched "changed since .* modified" --input "$input" "${extra[@]}" \
    --checkpoint-dir "$work/ck_series_touched" --resume
}
if "$python" -c "import numpy, h5py" 2>/dev/null; then
  check "a checkpoint series: SIGUSR1, resume: same report; one of its files touched since: exit 1" series
else
  echo "SKIPPED: the checkpoint-series case needs numpy and h5py"
fi

# --- refusals -------------------------------------------------------------------------
base=$work/ck_base
copy_of_base() { rm -rf "$work/ck_$1" && cp -a "$base" "$work/ck_$1" && echo "$work/ck_$1"; }
# refused_resume NAME MESSAGE DIR [ARGS...]: --resume from DIR must be refused.
refused_resume() {
  local name=$1 message=$2 dir=$3
  shift 3
  refused "$name" "$message" --input "$input" --checkpoint-dir "$dir" --resume "$@"
}
other_ranks=$((ranks == 1 ? 2 : ranks - 1))
refusals() {
  local dir generation file code
  [ -e "$base/manifest.json" ] || { echo "no base checkpoint"; return 1; }
  refused fresh_into_checkpoint "already holds a checkpoint" --input "$input" --checkpoint-dir "$(copy_of_base fresh)" ||
    return 1
  refused_resume no_checkpoint "no checkpoint to resume from" "$work/ck_empty" || return 1
  refused_resume other_epsilon "was written with --epsilon 1e-06; this run has --epsilon 0.001" \
    "$(copy_of_base epsilon)" --epsilon 0.001 || return 1
  refused_resume other_zero_ulp "was written with --zero-ulp min-normal" "$(copy_of_base zero_ulp)" \
    --zero-ulp min-subnormal || return 1
  refused_resume other_arithmetic "was written with --arithmetic" "$(copy_of_base arithmetic)" --arithmetic seed ||
    return 1
  dir=$(copy_of_base ranks)
  timeout 60 "${mpiexec[@]}" -np "$other_ranks" "$latdisp" analyze --progress-seconds 0 --input "$input" \
    --checkpoint-dir "$dir" --resume >"$work/other_ranks.out" 2>"$work/other_ranks.err"
  code=$?
  { [ "$code" -eq 1 ] && grep -q "was written by $ranks ranks; this run has $other_ranks" "$work/other_ranks.err"; } ||
    { echo "other rank count: exit $code"; cat "$work/other_ranks.err"; return 1; }
  cp "$input" "$work/w_copy.h5"
  refused other_input "belongs to the input" --input "$work/w_copy.h5" --checkpoint-dir "$(copy_of_base other_input)" \
    --resume || return 1
  # A damaged rank file: one flipped bit in the middle of the last rank's file.
  dir=$(copy_of_base damaged)
  generation=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["directory"])' "$dir/manifest.json")
  file=$(find "$dir/$generation" -name 'rank-*.ckpt' | sort | tail -1)
  "$python" - "$file" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0x40
open(sys.argv[1], "wb").write(data)
EOF
  refused_resume damaged "content hash mismatch" "$dir" || return 1
  dir=$(copy_of_base bad_manifest)
  head -c 100 "$base/manifest.json" >"$dir/manifest.json"
  refused_resume bad_manifest "manifest .* is damaged" "$dir" || return 1
}
check "fresh run into a checkpoint; none; other options, rank count, input; damaged file or manifest: exit 1" refusals

# A newer generation left half-written (a run killed while writing it) is ignored.
half_written() {
  local dir generation next
  dir=$(copy_of_base half)
  generation=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["generation"])' "$dir/manifest.json")
  next=$(printf "%s/generation-%06d" "$dir" $((generation + 1)))
  mkdir "$next"
  head -c 1000 /dev/urandom >"$next/rank-00000.ckpt"
  head -c 1000 /dev/urandom >"$next/rank-00000.ckpt.partial"
  head -c 300 "$dir/manifest.json" >"$dir/manifest.json.partial"
  resume_to_end "$dir" half_b || return 1
  [ -z "$(ls -A "$dir")" ] || { echo "left in $dir:"; ls -lR "$dir"; return 1; }
}
check "a half-written newer generation falls back to the complete one" half_written

# The input changed under the checkpoint: touched (mtime), then rewritten in place with the old mtime.
changed_input() {
  local dir
  dir=$(copy_of_base touched)
  cp -p "$input" "$work/w_original.h5"
  touch -d "@$(($(date +%s) + 5))" "$input"
  refused_resume touched "changed since .* modified" "$dir" || return 1
  "$python" - "$input" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:  # one byte of W's data inside the first MiB
    f.seek(200000)
    byte = f.read(1)
    f.seek(200000)
    f.write(bytes([byte[0] ^ 1]))
EOF
  touch -r "$work/w_original.h5" "$input"
  dir=$(copy_of_base rewritten)
  refused_resume rewritten "its first bytes differ" "$dir" || return 1
  cp -p "$work/w_original.h5" "$input"
}
check "an input changed since the checkpoint (mtime, then bytes with the old mtime): exit 1" changed_input

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
