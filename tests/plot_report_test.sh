#!/usr/bin/env bash
# tools/plot_report.py draws its five PNG figures, silently, from real reports:
# a small one with Inf/NaN/subnormals, a long one whose steps it must aggregate
# into bins, a one-step one without dead tokens (empty-set nulls), and one with
# a decaying move size (thermal motion, hops, a freeze, a jitter tail; regimes
# also on a log scale). Each figure must be a PNG that matplotlib decodes to a
# large, non-blank image.
# usage: plot_report_test.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
mkdir -p "$work" && cd "$work" || exit 1
pass=0 fail=0

# make_report NAME GENERATE_OPTIONS...: NAME.h5 generated at 1 rank, NAME.json analyzed at 2.
make_report() {
  local name=$1
  shift
  "${mpiexec[@]}" -np 1 "$latdisp" generate --output "$name.h5" --overwrite "$@" >/dev/null &&
    "${mpiexec[@]}" -np 2 "$latdisp" analyze --input "$name.h5" --report "$name.json" --overwrite \
      --progress-seconds 0 >/dev/null
}

# shellcheck source=tests/check_png.sh
source "$source/tests/check_png.sh"

# plot_and_check REPORT PREFIX [TOOL_OPTIONS...]: the tool exits 0 with nothing on stderr,
# and its 5 PNGs pass check_png.
plot_and_check() {
  local report=$1 prefix=$2 figure why
  shift 2
  rm -f "png/${prefix}"_*.png
  if "$python" "$source/tools/plot_report.py" "$report.json" --out png --prefix "$prefix" "$@" \
    >"$prefix.plot.out" 2>"$prefix.plot.err" && [ ! -s "$prefix.plot.err" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL plot_report.py $report.json $*:"
    head -20 "$prefix.plot.err"
  fi
  local figures=()
  for figure in classes motion magnitudes regimes summary; do figures+=("png/${prefix}_$figure.png"); done
  if why=$(check_png "${figures[@]}" 2>&1); then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL figures of $prefix:"
    echo "$why"
  fi
}

make_report small --steps 12 --tokens 40 --dims 24 --special --seed 5 || exit 1
make_report long --steps 1201 --tokens 8 --dims 8 --seed 6 || exit 1
make_report tiny --steps 2 --tokens 3 --dims 2 --dead-fraction 0 --seed 7 || exit 1
make_report decay --steps 121 --tokens 200 --dims 16 --decay-steps 12 --floor 0.01 --seed 8 || exit 1
plot_and_check small small
plot_and_check long long                       # 1200 steps: bins of 3
plot_and_check long long_50 --max-points 50    # bins of 24
plot_and_check tiny tiny
plot_and_check decay decay
plot_and_check decay decay_log --regimes-log
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
