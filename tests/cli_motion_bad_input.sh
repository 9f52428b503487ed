#!/usr/bin/env bash
# The motion options and files: bad values and bad paths get one message from
# rank 0 and the documented exit code before any work, and a refused run
# leaves no per-token or series file behind, at the rank count given.
# usage: cli_motion_bad_input.sh LATDISP WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 work=$2 ranks=$3
shift 3
mpiexec=("$@")
mkdir -p "$work"
rm -f "$work"/*.h5 "$work"/*.csv "$work"/*.safetensors
timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output "$work/good.h5" --steps 6 --tokens 8 --dims 4 \
  >/dev/null || exit 1
touch "$work/taken.csv"

launch() { timeout 120 "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@"; }
# shellcheck source=tests/expect_error.sh
source "$(dirname "${BASH_SOURCE[0]}")/expect_error.sh"
good=(analyze --input "$work/good.h5" --progress-seconds 0)

expect_error 1 "hop-radius" -- "${good[@]}" --hop-radius -2
expect_error 1 "hop-radius" -- "${good[@]}" --hop-radius wide
expect_error 1 "extension" -- "${good[@]}" --per-token "$work/t.txt"
expect_error 1 "must end in .csv" -- "${good[@]}" --series-csv "$work/s.h5"
expect_error 3 "is the input" -- "${good[@]}" --per-token "$work/good.h5"
expect_error 3 "same file as --per-token" -- "${good[@]}" --per-token "$work/x.csv" --series-csv "$work/./x.csv"
expect_error 3 "same file as --report" -- "${good[@]}" --report "$work/r.csv" --series-csv "$work/r.csv"
expect_error 3 "exists" -- "${good[@]}" --per-token "$work/taken.csv"
expect_error 3 "exists" -- "${good[@]}" --series-csv "$work/taken.csv"
expect_error 3 "not writable\|does not exist" -- "${good[@]}" --per-token /nonexistent/dir/t.h5
expect_error 3 "not writable\|does not exist" -- "${good[@]}" --series-csv /nonexistent/dir/s.csv
expect_error 1 "floor needs --decay-steps" -- generate --output "$work/g.h5" --steps 3 --tokens 2 --dims 2 --floor 0.1
expect_error 1 "decay-steps" -- generate --output "$work/g.h5" --steps 3 --tokens 2 --dims 2 --decay-steps -3

# A run refused for one file writes none of the others, and leaves no temporaries.
checks=$((checks + 1))
launch "${good[@]}" --per-token "$work/fresh.safetensors" --series-csv "$work/taken.csv" >/dev/null 2>&1
leftovers=$(find "$work" -name 'fresh*' -o -name '.*partial*' | wc -l)
if [ "$leftovers" -ne 0 ]; then
  echo "FAIL: a refused run left files: $(find "$work" -name 'fresh*' -o -name '.*partial*')"
  failures=$((failures + 1))
fi
# --overwrite replaces an existing per-token file.
checks=$((checks + 1))
if ! launch "${good[@]}" --per-token "$work/taken.csv" --overwrite >/dev/null 2>&1 ||
  [ "$(head -1 "$work/taken.csv" | cut -d, -f1-3)" != "token,dead,moved" ]; then
  echo "FAIL: --overwrite did not replace the per-token file"
  failures=$((failures + 1))
fi
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
