# shellcheck shell=bash disable=SC2154  # $python and $run_pid: the sourcing test sets them
# Sourced by the checkpoint tests (cli_checkpoint.sh, cli_optimizer_checkpoint.sh,
# cli_output_formats.sh): waiting for a background run's checkpoint without
# fixed sleeps, and the processes of that run. $run_pid is timeout's PID, whose
# child is mpirun.

# wait_for_step DIR STEP [PID]: until DIR's manifest says next_step >= STEP
# (bounded; fails if the run, PID or $run_pid, ends first).
wait_for_step() {
  "$python" - "$1" "$2" "${3:-$run_pid}" <<'EOF_PY'
import json, os, sys, time
directory, step, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.time() + 100
while time.time() < deadline:
    try:
        with open(os.path.join(directory, "manifest.json")) as f:
            if json.load(f)["next_step"] >= step:
                sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"the run ended before its checkpoint reached step {step}")
    time.sleep(0.02)
sys.exit(f"no checkpoint at step >= {step} in {directory} within 100 s")
EOF_PY
}

# manifest_step DIR: the step the checkpoint in DIR continues from.
manifest_step() { "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["next_step"])' "$1/manifest.json"; }
launcher_pid() { pgrep -P "$run_pid" | head -1; }  # mpirun, the child of timeout
rank_pids() { pgrep -P "$(launcher_pid)"; }
