#!/usr/bin/env bash
# Faults produced for real, at the rank count given: a full disk (a small
# tmpfs mounted here), outputs that clash with inputs or with each other, bad
# folders, SIGTERM/SIGINT to mpirun and to one rank, a killed job and its
# rerun, bad options, a fault while the process shuts down. Each check looks
# at the exit code, the one "latdisp: error:" line, the target's bytes
# (absent, or unchanged) and that no temporary is left; every command is
# bounded by timeout.
# usage: cli_faults.sh PART LATDISP MAKE_FAULT_INPUTS WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
#   PART: disk (needs root to mount a tmpfs: exits 77, "skipped", when it
#   cannot) or faults (paths, signals, killed runs, options).
set -u
part=$1 latdisp=$2 make_inputs=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
readonly kSkipped=77
full=$work/full  # the small tmpfs of the disk part
mkdir -p "$work"
mountpoint -q "$full" 2>/dev/null && umount -l "$full"
rm -rf "${work:?}" && mkdir -p "$work"  # hidden temporaries a failed run left included

checks=0
failures=0
problems=()
problem() { problems+=("$*"); }
finish_check() {  # NAME: counts the check, prints what went wrong
  checks=$((checks + 1))
  if [ ${#problems[@]} -eq 0 ]; then
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1:"
    printf '    %s\n' "${problems[@]}"
  fi
  problems=()
}

# The temporaries latdisp leaves in a folder (none expected).
temporaries_in() { find "$1" -maxdepth 1 -name '.*.latdisp-partial-*' | wc -l; }

# expect_outcome CODE PATTERN ERRFILE GOT: the exit code and one error line matching PATTERN.
expect_outcome() {
  local code=$1 pattern=$2 err=$3 got=$4 lines
  lines=$(grep -c '^latdisp: error:' "$err")
  [ "$got" -eq "$code" ] || problem "exit $got, want $code"
  [ "$lines" -eq 1 ] || problem "$lines 'latdisp: error:' lines, want 1"
  grep -q -- "$pattern" "$err" || problem "no message matching '$pattern'"
  [ ${#problems[@]} -eq 0 ] || sed 's/^/      | /' "$err" | grep -v '^      | mca_fbtl' | head -8 >&2
}

# expect_target PATH absent|SAVED_COPY: the target is absent, or holds the saved bytes.
expect_target() {
  local target=$1 want=$2
  if [ "$want" = absent ]; then
    [ ! -e "$target" ] || problem "'$target' exists, want it absent"
  else
    cmp -s "$target" "$want" || problem "'$target' changed"
  fi
  [ "$(temporaries_in "$(dirname "$target")")" -eq 0 ] || problem "a temporary is left beside '$target'"
}

# check NAME CODE PATTERN TARGET WANT -- ARGS...: run latdisp ARGS, then the checks above.
# The report on stdout must be empty: a refused path is refused before the analysis.
check() {
  local name=$1 code=$2 pattern=$3 target=$4 want=$5
  shift 6
  local out="$work/$name.out" err="$work/$name.err"
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@" >"$out" 2>"$err"
  expect_outcome "$code" "$pattern" "$err" $?
  [ "$code" -eq 0 ] || [ ! -s "$out" ] || problem "a report was printed: the path was not refused up front"
  expect_target "$target" "$want"
  finish_check "$name"
}

run_quiet() { timeout 120 "${mpiexec[@]}" -np "$1" "$latdisp" "${@:2}" >/dev/null || exit 1; }

disk_part() {
  mkdir -p "$full"
  if ! mount -t tmpfs -o size=8m tmpfs "$full" 2>"$work/mount.err"; then
    echo "SKIPPED: cannot mount a tmpfs for the full-disk checks ($(cat "$work/mount.err"))"
    exit $kSkipped
  fi
  trap 'umount -l "$full"' EXIT
  run_quiet 1 generate --output "$work/w.h5" --steps 41 --tokens 1000 --dims 64 --seed 3
  local w=$work/w.h5 args=(--progress-seconds 0)
  # About 10 MB of tensors for an 8 MiB disk.
  check full_hdf5 3 "No space left on device" "$full/o.h5" absent -- analyze --input "$w" --output "$full/o.h5" "${args[@]}"
  check full_safetensors 3 "No space left on device" "$full/o.safetensors" absent -- \
    analyze --input "$w" --output "$full/o.safetensors" "${args[@]}"
  check full_generate 3 "No space left on device" "$full/g.h5" absent -- \
    generate --output "$full/g.h5" --steps 41 --tokens 4000 --dims 64
  check full_generate_matrix 3 "No space left on device" "$full/m.safetensors" absent -- \
    generate --matrix --output "$full/m.safetensors" --tokens 100000 --dims 64
  run_quiet 1 generate --output "$work/w2.h5" --steps 41 --tokens 2000 --dims 64 --seed 5
  check full_pack 3 "No space left on device" "$full/p.h5" absent -- pack --input "$work/w2.h5" --output "$full/p.h5"
  # An existing target replaced with --overwrite stays as it was.
  echo "the previous results" >"$full/kept.h5"
  cp "$full/kept.h5" "$work/kept.copy"
  check full_overwrite_keeps_old 3 "No space left on device" "$full/kept.h5" "$work/kept.copy" -- \
    analyze --input "$w" --output "$full/kept.h5" --overwrite "${args[@]}"
  # A disk that has room for nothing more: the JSON report (about 50 KB) and
  # the black-hole groups; the report on stdout still comes first.
  run_quiet 1 generate --matrix --output "$work/m.safetensors" --tokens 2000 --dims 16 --group-size 20
  fallocate -l "$(($(df --output=avail -B1 "$full" | tail -1) - 4096))" "$full/filler"
  echo "the previous report" >"$full/r.json"
  cp "$full/r.json" "$work/r.copy"
  local out="$work/full_report.out" err="$work/full_report.err"
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$w" --report "$full/r.json" --overwrite \
    "${args[@]}" >"$out" 2>"$err"
  expect_outcome 3 "cannot write --report .*No space left on device" "$err" $?
  grep -qi "verdict" "$out" || problem "the report on stdout was lost"
  expect_target "$full/r.json" "$work/r.copy"
  finish_check full_report
  check full_blackholes_safetensors 3 "No space left on device" "$full/bh.safetensors" absent -- \
    blackholes --matrix "$work/m.safetensors" --output "$full/bh.safetensors"
  check full_blackholes_hdf5 3 "No space left on device\|failed" "$full/bh.h5" absent -- \
    blackholes --matrix "$work/m.safetensors" --output "$full/bh.h5"
}

# ---- signals ---------------------------------------------------------------

# wait_until_started WHEN ERRFILE TARGET JOB: polls until the analysis printed
# progress (WHEN=analysis) or the save's temporary appeared (WHEN=save).
wait_until_started() {
  local when=$1 err=$2 target=$3 job=$4
  for _ in $(seq 1 1200); do
    kill -0 "$job" 2>/dev/null || return 1
    if [ "$when" = analysis ]; then
      grep -q "transitions" "$err" && return 0
    else
      [ "$(temporaries_in "$(dirname "$target")")" -gt 0 ] && return 0
    fi
    sleep 0.05
  done
  return 1
}

# The processes of a job started under timeout: mpirun, then its ranks.
launcher_of() { pgrep -P "$1" | head -1; }
ranks_of() { pgrep -P "$(launcher_of "$1")" -x latdisp; }

# signal_case NAME SIGNAL WHOM WHEN: WHOM mpirun or rank (the last one), WHEN
# analysis or save. A rank that is signalled exits 5; mpirun, told to stop,
# ends the job itself (Open MPI's own status, 1), with the ranks stopping alike.
signal_case() {
  local name=$1 signal=$2 whom=$3 when=$4
  local target=$work/$name.h5 err=$work/$name.err
  # mpirun told to stop signals the ranks with Open MPI's own grace (its default 1 s) before SIGKILL.
  [ "$whom" = mpirun ] && local -x OMPI_MCA_odls_base_sigkill_timeout=1
  timeout 300 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$work/long.h5" --output "$target" \
    --max-steps-per-block 2 --progress-seconds 0.2 >/dev/null 2>"$err" &
  local job=$!
  if ! wait_until_started "$when" "$err" "$target" "$job"; then
    problem "the run ended (or never started) before the $when phase"
    kill -KILL "$(ranks_of "$job")" 2>/dev/null
    wait "$job"
    finish_check "$name"
    return
  fi
  local victim
  if [ "$whom" = mpirun ]; then victim=$(launcher_of "$job"); else victim=$(ranks_of "$job" | tail -1); fi
  local start=$SECONDS
  kill -s "$signal" "$victim"
  wait "$job"
  local got=$?
  [ $((SECONDS - start)) -le 15 ] || problem "took $((SECONDS - start)) s to stop"
  local stopped_by="stopped by SIG$signal"
  if [ "$whom" = mpirun ]; then
    if [ "$got" -eq 0 ] || [ "$got" -eq 124 ]; then problem "exit $got, want the job stopped"; fi
    got=5
    stopped_by="stopped by SIGTERM"  # what mpirun sends the ranks, whatever it received
  fi
  expect_outcome 5 "$stopped_by" "$err" "$got"
  expect_target "$target" absent
  finish_check "$name"
}

killed_then_rerun() {
  local target=$work/killed.h5 err=$work/killed.err
  timeout 300 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$work/long.h5" --output "$target" \
    --max-steps-per-block 2 --progress-seconds 0 >/dev/null 2>"$err" &
  local job=$!
  if wait_until_started save "$err" "$target" "$job"; then
    local launcher
    launcher=$(launcher_of "$job")
    # shellcheck disable=SC2046  # one pid per word
    kill -KILL $(ranks_of "$job") "$launcher"
  else
    problem "the run ended before the save"
  fi
  wait "$job" 2>/dev/null
  [ "$(temporaries_in "$work")" -gt 0 ] || problem "SIGKILL left no temporary: nothing to clean up"
  [ ! -e "$target" ] || problem "a killed run left '$target'"
  timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input "$work/long.h5" --output "$target" \
    --progress-seconds 0 >/dev/null 2>"$err"
  local got=$?
  [ "$got" -eq 0 ] || problem "the rerun exited $got"
  grep -q "removed .*killed.h5.latdisp-partial-.*interrupted run" "$err" || problem "the rerun did not say it removed the stale temporary"
  [ "$(head -c 8 "$target" | od -An -c | tr -d ' ')" = '211HDF\r\n032\n' ] || problem "the rerun's output is not HDF5"
  [ "$(temporaries_in "$work")" -eq 0 ] || problem "the stale temporary is still there"
  finish_check killed_then_rerun
}

# A fault in a library thread once MPI has shut down (injected: the MPI
# library's own threads rarely fault there): the run's exit code and its
# outputs stand, with a note instead of a crash report (one per rank after a
# finished run; after a refusal, from at least the rank that exited first).
shutdown_fault_case() {
  local err=$work/shutdown.err out=$work/shutdown.out
  LATDISP_TEST_SHUTDOWN_FAULT=1 timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" \
    blackholes --matrix "$work/in.h5:W@3" --report "$work/shutdown.json" >"$out" 2>"$err"
  local got=$?
  [ "$got" -eq 0 ] || problem "a finished run exits $got, want 0"
  if ! grep -q '"schema": "latdisp.blackholes/1"' "$work/shutdown.json" 2>/dev/null ||
    [ "$(tail -n 1 "$work/shutdown.json")" != "}" ]; then
    problem "its report is missing or incomplete"
  fi
  [ "$(grep -c "^latdisp: note: a library faulted while rank .* shut down.*code, 0$" "$err")" -eq "$ranks" ] ||
    problem "not one shutdown note per rank"
  [ "$(temporaries_in "$work")" -eq 0 ] || problem "a temporary is left"
  finish_check shutdown_fault_after_run
  LATDISP_TEST_SHUTDOWN_FAULT=1 timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" \
    blackholes --matrix "$work/missing.h5:W@0" >"$out" 2>"$err"
  expect_outcome 2 "missing.h5" "$err" $?
  # The first rank to exit non-zero has mpirun stop the others at once
  # (odls_base_sigkill_timeout=0), maybe before their own fault: one note
  # from some rank is what every run shows.
  grep -q "^latdisp: note: a library faulted while rank [0-9]* shut down.*code, 2$" "$err" || problem "no shutdown note"
  finish_check shutdown_fault_after_refusal
}

faults_part() {
  "$make_inputs" "$work" || exit 1
  run_quiet 1 generate --output "$work/in.h5" --steps 21 --tokens 300 --dims 16 --seed 2
  # Long enough that a signal sent once the analysis or the save has begun
  # arrives while it still runs: mpirun passes SIGTERM on to the ranks about
  # two seconds after it is told to stop, and 2-step blocks of this input
  # take longer than that to save.
  run_quiet 1 generate --output "$work/long.h5" --steps 24001 --tokens 128 --dims 64 --seed 4
  local in=$work/in.h5 long=$work/long.h5 p=(--progress-seconds 0.1)
  cp "$in" "$work/in.copy"
  cp "$long" "$work/long.copy"
  ln -s "$long" "$work/link.h5"
  mkdir -p "$work/folder.h5"

  # Paths refused before any work (the long input would print progress).
  check report_is_input 3 "is the input" "$long" "$work/long.copy" -- \
    analyze --input "$long" --report "$work/./long.h5" --overwrite "${p[@]}"
  check output_is_input 3 "is the input" "$long" "$work/long.copy" -- \
    analyze --input "$long" --output "$long" --overwrite "${p[@]}"
  check output_is_input_by_link 3 "is the input" "$long" "$work/long.copy" -- \
    analyze --input "$work/link.h5" --output "$long" --overwrite "${p[@]}"
  check report_is_output 3 "is the same file as --output" "$work/o.h5" absent -- \
    analyze --input "$long" --output "$work/o.h5" --report "$work/./o.h5" "${p[@]}"
  check report_in_missing_folder 3 "folder '$work/missing' does not exist" "$work/missing/r.json" absent -- \
    analyze --input "$long" --report "$work/missing/r.json" "${p[@]}"
  check output_is_folder 3 "is a folder" "$work/o2.h5" absent -- \
    analyze --input "$long" --output "$work/folder.h5" "${p[@]}"
  check generate_output_is_folder 3 "is a folder" "$work/g.h5" absent -- \
    generate --output "$work/folder.h5" --steps 2 --tokens 8 --dims 2
  check blackholes_output_is_matrix 3 "is the input" "$in" "$work/in.copy" -- \
    blackholes --matrix "$in:W@0" --output "$in" --overwrite

  # Options.
  check option_prefix 1 "unrecognised option '--epsilo'" "$work/none" absent -- analyze --input "$in" --epsilo 0.1
  check epsilon_huge 1 "epsilon 1e+308 is too large" "$work/none" absent -- analyze --input "$in" --epsilon 1e308
  check epsilon_negative 1 "positive number, not -1e-09" "$work/none" absent -- analyze --input "$in" --epsilon -1e-9
  check budget_huge 1 "memory-budget '1e30' is too large" "$work/none" absent -- \
    analyze --input "$in" --memory-budget 1e30
  check budget_empty 1 "memory-budget needs a value" "$work/none" absent -- analyze --input "$in" --memory-budget ""
  check outputs_empty 1 "outputs needs a value" "$work/none" absent -- \
    analyze --input "$in" --output "$work/o3.h5" --outputs ""
  check config_folder 1 "is a folder, not a config file" "$work/none" absent -- analyze --config "$work/folder.h5"
  check config_binary 1 "not a text file" "$work/none" absent -- analyze --config "$work/binary.cfg"
  check token_id_uint64 2 "token id 18446744073709551615" "$work/none" absent -- \
    inspect --matrix "$in:W@0" --groups "$work/groups_uint64.h5" --dims 0

  # Signals, at block boundaries of the analysis and of the save.
  signal_case term_mpirun_analysis TERM mpirun analysis
  signal_case int_mpirun_save INT mpirun save
  signal_case term_rank_save TERM rank save
  signal_case int_rank_analysis INT rank analysis
  signal_case usr1_rank_save USR1 rank save
  killed_then_rerun
  shutdown_fault_case
}

case "$part" in
  disk) disk_part ;;
  faults) faults_part ;;
  *)
    echo "unknown part '$part'"
    exit 1
    ;;
esac
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
