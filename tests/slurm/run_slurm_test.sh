#!/usr/bin/env bash
# A real single-node Slurm: installs munge and Slurm from Debian's packages if
# missing, stands up a private munged, slurmctld and slurmd (all state, sockets,
# logs and ports in a temporary directory), submits jobs/analyze_cpu.sbatch on a
# generated trajectory (srun --mpi=pmix, then LAUNCHER=mpirun), checks that each
# report equals a plain mpirun run's outside "run", runs tools/scaling_study.py
# with srun inside salloc, runs jobs/analyze_resumable.sbatch (srun, mpirun)
# through Slurm's warning, a checkpoint, a requeue and a resume to the plain
# run's report (SLURM_TEST_TIME_LIMIT=1: also under a real one-minute time
# limit, about two minutes more), and tears the cluster down by PID (also on failure or
# interruption) and checks no daemon is left. Every wait is bounded (about 35 s
# in all here, plus the package install on a fresh machine).
# usage: tests/slurm/run_slurm_test.sh [BUILD_DIR]   (default: build)
# Prints "N passed, M failed"; exits 0 only if nothing failed. Skips (exit 0)
# only when packages are missing and cannot be installed (not root, no sudo).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
latdisp=$(cd "$build" 2>/dev/null && pwd)/latdisp
python=/usr/bin/python3
ranks=2
job_timeout=${SLURM_TEST_JOB_TIMEOUT:-120}  # seconds for one sbatch --wait
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl=self,vader,tcp
export OMPI_MCA_rmaps_base_oversubscribe=1
pass=0 fail=0
check() {  # check NAME COMMAND...: run COMMAND, count and print the result
  local name=$1
  shift
  if "$@"; then
    pass=$((pass + 1)); echo "PASS: $name"
  else
    fail=$((fail + 1)); echo "FAIL: $name"
  fi
}
log() { echo "slurm test: $*"; }

if [ ! -x "$latdisp" ]; then
  echo "slurm test: no latdisp binary in '$build' (build first, or give BUILD_DIR)"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- packages ----------------------------------------------------------------
packages=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "slurm test: SKIPPED (needs ${missing[*]} and cannot install them: not root, no sudo)"
      exit 0
    fi
  fi
  if ! command -v apt-get >/dev/null; then
    echo "slurm test: SKIPPED (needs ${missing[*]} and there is no apt-get)"
    exit 0
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq >/dev/null
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; then
    echo "slurm test: installing ${missing[*]} failed"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi
if [ "$(id -u)" -ne 0 ]; then
  # The daemons run as SlurmUser=root; a private cluster as another user is not set up here.
  echo "slurm test: SKIPPED (the daemons must run as root)"
  exit 0
fi
for tool in munged slurmctld slurmd sbatch sinfo squeue scancel; do
  command -v "$tool" >/dev/null || { echo "slurm test: $tool missing after install"; echo "0 passed, 1 failed"; exit 1; }
done

# --- the cluster ---------------------------------------------------------------
daemons=(munged slurmctld slurmd slurmstepd)
# Processes of these names that already ran before this test are not ours.
daemon_pids() {  # PIDs of every process named like one of the daemons
  local name
  for name in "${daemons[@]}"; do pgrep -x "$name"; done
}
baseline=" $(daemon_pids | tr '\n' ' ') "
work=$(mktemp -d /tmp/latdisp-slurm.XXXXXX)
chmod 0700 "$work"
mkdir -p "$work/state" "$work/spool" "$work/munge"
chmod 0755 "$work/munge"  # munged wants its socket's directory searchable by all (the key stays 0400)
pids=()  # daemons we started, in start order

new_daemon_pids() {  # PIDs of munged/slurm* processes that were not there before the test
  local pid
  for pid in $(daemon_pids); do
    [[ $baseline == *" $pid "* ]] || echo "$pid"
  done
}

stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "PID $pid ignored SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}

torn_down=0
teardown() {
  [ "$torn_down" -eq 1 ] && return
  local i
  torn_down=1
  # Every job of this private controller is ours: cancel what is left, wait (bounded) for the
  # queue to empty (slurmstepd exits with its job), then stop the daemons.
  local queued
  queued=$(timeout 5 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${queued// /}" ]; then
    log "cancelling jobs $queued"
    # shellcheck disable=SC2086  # one job ID per word
    timeout 10 scancel $queued 2>/dev/null
    for ((i = 0; i < 50; i++)); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  local k pid
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do stop_pid "${pids[k]}"; done
  # A slurmstepd left by a killed job step (reparented, so not our child): ours if it is new.
  for pid in $(new_daemon_pids); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmstepd ] && stop_pid "$pid"
  done
  # Job processes (latdisp ranks, mpirun) still running on our files after a cancel.
  for pid in $(pgrep -f -- "$work/" || true); do stop_pid "$pid"; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
on_exit() {
  teardown
  if [ -n "${KEEP_SLURM_TEST_DIR:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# Two free TCP ports for slurmctld and slurmd (other Slurm instances may use 6817/6818).
read -r ctld_port slurmd_port < <("$python" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
cpus=$(nproc)

# munge: a private key, socket and daemon.
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$work/munge/munge.key" 2>/dev/null
else
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" >"$work/munge/munged.out" 2>&1 &
pids+=($!)

cat >"$work/slurm.conf" <<EOF
# A single-node test cluster; see tests/slurm/run_slurm_test.sh.
ClusterName=latdisptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it may start again (default 120 s)
AuthInfo=socket=$socket,cred_expire=5
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Requeued jobs start again within seconds of becoming eligible.
SchedulerParameters=sched_interval=1,bf_interval=1
InactiveLimit=0
KillWait=5
MinJobAge=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf

cluster_up() {
  local i
  for ((i = 0; i < 50; i++)); do
    [ -S "$socket" ] && break
    sleep 0.1
  done
  [ -S "$socket" ] || { log "munged did not start:"; cat "$work/munge/munged.out" "$work/munge/munged.log" 2>/dev/null; return 1; }
  slurmctld -D -c -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
  pids+=($!)
  slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
  pids+=($!)
  # Bounded wait (60 s) for the node to be idle.
  local state=""
  for ((i = 0; i < 120; i++)); do
    state=$(timeout 5 sinfo -h -N -o %t 2>/dev/null | head -1)
    [ "$state" = idle ] && { log "node $host idle after $((i / 2)) s ($cpus CPUs)"; return 0; }
    sleep 0.5
  done
  log "node not idle after 60 s (state '$state'); logs:"
  tail -n 20 "$work/slurmctld.log" "$work/slurmd.log" "$work/slurmctld.out" "$work/slurmd.out" 2>/dev/null
  return 1
}

# run_job NAME LAUNCHER: submit jobs/analyze_cpu.sbatch with 2 tasks, wait (bounded), check the report
run_job() {
  local name=$1 launcher=$2 out code
  local report=$work/report_$name.json
  local extra=()
  [ "$cpus" -lt "$ranks" ] && extra+=(--overcommit)
  out=$(INPUT=$work/w.h5 REPORT=$report LATDISP=$latdisp LAUNCHER=$launcher EXTRA_ARGS="--progress-seconds 0" \
    timeout "$job_timeout" sbatch --wait --parsable --chdir="$work" --output="$work/job_$name-%j.out" \
      --job-name="latdisp-$name" --nodes=1 --ntasks="$ranks" --ntasks-per-node="$ranks" "${extra[@]}" \
      "$repo/jobs/analyze_cpu.sbatch" 2>"$work/sbatch_$name.err")
  code=$?
  local id=${out%%;*}
  if [ "$code" -ne 0 ]; then
    log "job $name (id '${id:-none}') exit code $code (124: no result within $job_timeout s)"
    cat "$work/sbatch_$name.err" "$work"/job_"$name"-*.out 2>/dev/null | tail -n 30
    return 1
  fi
  log "job $name ($id) done:"
  sed 's/^/    /' "$work"/job_"$name"-*.out | grep -E 'latdisp (job|exit)' || true
  "$python" - "$report" "$ranks" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
sys.exit(0 if run["ranks"] == int(sys.argv[2]) else f"report says {run['ranks']} ranks")
EOF
}

generate() {
  timeout 60 mpirun -np 1 "$latdisp" generate --output "$work/w.h5" --steps 41 --tokens 600 --dims 64 --seed 5 \
    --overwrite >"$work/generate.out" 2>&1 || { tail -n 20 "$work/generate.out"; return 1; }
}
plain_run() {
  timeout 120 mpirun -np "$ranks" "$latdisp" analyze --input "$work/w.h5" --report "$work/report_plain.json" --overwrite \
    --progress-seconds 0 >"$work/plain.out" 2>&1 || { tail -n 20 "$work/plain.out"; return 1; }
}
scaling_srun() {  # the scaling driver's srun path, tiny, inside salloc (bounded)
  local extra=() out=$work/scaling
  [ "$cpus" -lt "$ranks" ] && extra+=(--overcommit)
  timeout "$job_timeout" salloc -n "$ranks" "${extra[@]}" --job-name=latdisp-scaling \
    "$python" "$repo/tools/scaling_study.py" --launcher srun --build "$build" --ranks 1 "$ranks" \
    --steps 9 --tokens 300 --dims 16 --repeats 1 --out "$out" >"$work/scaling.out" 2>&1 ||
    { tail -n 20 "$work/scaling.out"; return 1; }
  # header + strong and weak rows at 2 rank counts, and both figures
  if [ "$(wc -l <"$out/scaling.csv")" -ne 5 ] || [ ! -s "$out/scaling_speedup.png" ] ||
    [ ! -s "$out/scaling_phases.png" ]; then
    log "scaling outputs missing"; ls -l "$out"; return 1
  fi
}
same_reports() {
  local f
  for f in "$@"; do [ -f "$f" ] || { log "no report $f"; return 1; }; done
  "$python" "$repo/tests/compare_reports.py" "$@"
}

# resumable NAME LAUNCHER PAUSE [SBATCH_OPTIONS...]: jobs/analyze_resumable.sbatch on a run paced by
# --block-pause PAUSE. Without
# options the batch shell gets Slurm's warning by hand (scancel --signal=USR1 --batch, what
# --signal=B:USR1@N sends) once the first checkpoint exists; with --time/--signal options the real
# time-limit warning comes. Either way the job must checkpoint, exit 5, requeue itself, resume and
# finish with the plain run's report.
resumable() {
  local name=$1 launcher=$2 pause=$3 out id i state="" log
  shift 3
  local dir=$work/checkpoint_$name report=$work/report_$name.json
  local extra=()
  [ "$cpus" -lt "$ranks" ] && extra+=(--overcommit)
  out=$(INPUT=$work/w.h5 REPORT=$report CHECKPOINT_DIR=$dir CHECKPOINT_SECONDS=0.2 LATDISP=$latdisp SIGTERM_GRACE=1 \
    LAUNCHER=$launcher EXTRA_ARGS="--progress-seconds 0 --max-steps-per-block 3 --block-pause $pause" \
    timeout 10 sbatch --parsable --chdir="$work" --output="$work/job_$name-%j.out" --job-name="latdisp-$name" \
      --nodes=1 --ntasks="$ranks" --ntasks-per-node="$ranks" "${extra[@]}" "$@" \
      "$repo/jobs/analyze_resumable.sbatch" 2>"$work/sbatch_$name.err") || { cat "$work/sbatch_$name.err"; return 1; }
  id=${out%%;*}
  if [ "$#" -eq 0 ]; then
    for ((i = 0; i < 600; i++)); do  # bounded: 60 s for the first checkpoint
      [ -f "$dir/manifest.json" ] && break
      sleep 0.1
    done
    [ -f "$dir/manifest.json" ] || { log "job $name ($id): no checkpoint after 60 s"; tail -n 20 "$work"/job_"$name"-*.out; return 1; }
    timeout 10 scancel --signal=USR1 --batch "$id" || return 1
  fi
  for ((i = 0; i < 2 * job_timeout; i++)); do  # bounded wait for the requeued job to complete
    state=$(timeout 5 scontrol show job -o "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*')
    case $state in JobState=COMPLETED | JobState=FAILED | JobState=CANCELLED | JobState=TIMEOUT) break ;; esac
    sleep 0.5
  done
  log=$(cat "$work"/job_"$name"-*.out 2>/dev/null)
  log "job $name ($id) $state:"
  grep -E 'latdisp (job|exit)|resuming|stopped by' <<<"$log" | sed 's/^/    /'
  [ "$state" = JobState=COMPLETED ] || return 1
  local line
  for line in "latdisp exit code: 5" "requeueing" "resuming from the checkpoint" "latdisp exit code: 0"; do
    grep -q "$line" <<<"$log" || { log "job $name: no '$line' in its log"; return 1; }
  done
  timeout 5 scontrol show job -o "$id" | grep -q 'Restarts=[1-9]' || { log "job $name was not requeued"; return 1; }
  same_reports "$work/report_plain.json" "$report"
}

start=$SECONDS
if check "single-node Slurm up (munged, slurmctld, slurmd; node idle)" cluster_up; then
  check "generate W[41, 600, 64]" generate
  check "plain mpirun -np $ranks analyze (the reference report)" plain_run
  check "sbatch jobs/analyze_cpu.sbatch (srun --mpi=pmix, $ranks ranks)" run_job srun srun
  check "Slurm (srun) report equals mpirun's outside 'run'" \
    same_reports "$work/report_plain.json" "$work/report_srun.json"
  check "sbatch jobs/analyze_cpu.sbatch (LAUNCHER=mpirun inside the allocation)" run_job mpirun mpirun
  check "Slurm (mpirun) report equals mpirun's outside 'run'" \
    same_reports "$work/report_plain.json" "$work/report_mpirun.json"
  check "tools/scaling_study.py --launcher srun in an allocation (CSV, 2 PNGs)" scaling_srun
  check "jobs/analyze_resumable.sbatch (srun): USR1 warning, checkpoint, requeue, resume: same report" \
    resumable warned srun 0.1
  check "jobs/analyze_resumable.sbatch (mpirun): USR1 warning, checkpoint, requeue, resume: same report" \
    resumable warned_mpirun mpirun 0.1
  if [ -n "${SLURM_TEST_TIME_LIMIT:-}" ]; then  # about 2 more minutes: the controller checks limits every 30 s
    check "jobs/analyze_resumable.sbatch under --time=1 --signal=B:USR1@50: the real warning, requeue, same report" \
      resumable time_limit mpirun 3 --time=1 --signal=B:USR1@50
  fi
fi
teardown
leftover=$( (new_daemon_pids; pgrep -f -- "$work/") | tr '\n' ' ')
check "no munged/slurmctld/slurmd/slurmstepd or job process left${leftover:+ (left: $leftover)}" test -z "$leftover"
log "$((SECONDS - start)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
