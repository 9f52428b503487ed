#!/usr/bin/env bash
# latdisp on a workstation with mpirun: one rank per core (CPU build) or one
# rank per GPU (a Kokkos built with CUDA/HIP). Edit the variables, then run:
#   jobs/workstation.sh
set -uo pipefail

INPUT=${INPUT:-data/default.h5}                # W[steps, tokens, dims] as uint16 bfloat16 bits
REPORT=${REPORT:-data/workstation-report.json}  # the JSON report
RANKS=${RANKS:-$(nproc)}                        # CPU: cores; GPU: number of GPUs
GPUS=${GPUS:-0}                                 # >0: bind rank i to GPU i (CUDA_VISIBLE_DEVICES)
BUDGET=${BUDGET:-}                              # per-rank memory budget, e.g. 8GiB (empty: automatic)
MPIIO=${MPIIO:-ompio}                           # ompio or romio321 (MPI-IO component)
FCOLL=${FCOLL:-auto}                            # ompio collective I/O: auto, vulcan or dynamic_gen2
LATDISP=${LATDISP:-build/latdisp}
EXTRA_ARGS=${EXTRA_ARGS:-}                      # more analyze options, e.g. "--arithmetic seed"

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
echo "latdisp workstation job: $(hostname), $(date -Is), ranks=$RANKS gpus=$GPUS mpiio=$MPIIO"
echo "  $(mpirun --version 2>&1 | head -1)"
mpi_args=(-np "$RANKS" --bind-to core)
if [ "$MPIIO" = "romio321" ]; then
  mpi_args+=(--mca io romio321)
else
  # vulcan (the default) reads fastest but can hang on collective writes
  # (open-mpi/ompi #9479): dynamic_gen2 when the job saves tensors.
  if [ "$FCOLL" = auto ]; then
    case " $EXTRA_ARGS " in *" --output "* | *" -o "*) FCOLL=dynamic_gen2 ;; *) FCOLL=vulcan ;; esac
  fi
  mpi_args+=(--mca io ompio --mca fcoll "$FCOLL")
fi
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# latdisp prints its own one-line error; Open MPI's ten lines after a non-zero exit add nothing.
export OMPI_MCA_orte_execute_quiet=${OMPI_MCA_orte_execute_quiet:-1}
[ "$RANKS" -gt "$(nproc)" ] && mpi_args+=(--oversubscribe)
budget_args=()
[ -n "$BUDGET" ] && budget_args=(--memory-budget "$BUDGET")

if [ "$GPUS" -gt 0 ]; then
  # Each rank sees only its own GPU.
  # shellcheck disable=SC2016  # expanded by the per-rank shell
  launcher='export CUDA_VISIBLE_DEVICES=$((OMPI_COMM_WORLD_LOCAL_RANK % '"$GPUS"')) HIP_VISIBLE_DEVICES=$((OMPI_COMM_WORLD_LOCAL_RANK % '"$GPUS"')); exec "$@"'
  # shellcheck disable=SC2086
  mpirun "${mpi_args[@]}" bash -c "$launcher" latdisp "$LATDISP" analyze --input "$INPUT" --report "$REPORT" --overwrite \
    "${budget_args[@]}" $EXTRA_ARGS
else
  # shellcheck disable=SC2086
  mpirun "${mpi_args[@]}" "$LATDISP" analyze --input "$INPUT" --report "$REPORT" --overwrite "${budget_args[@]}" $EXTRA_ARGS
fi
code=$?
echo "latdisp exit code: $code"
exit "$code"
