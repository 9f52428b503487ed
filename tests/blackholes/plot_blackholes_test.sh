#!/usr/bin/env bash
# tools/plot_blackholes.py draws its figure, silently, from real reports: a
# trajectory whose groups form, split and break apart (with step numbers in
# the file, so the x axis shows training steps), and one with no groups at
# all. The figure must be a PNG that matplotlib decodes to a large,
# non-blank image, and the tool must refuse a report of another schema.
# usage: plot_blackholes_test.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.png ./*.json
pass=0 fail=0
tool="$source/tools/plot_blackholes.py"

"$python" - <<'EOF_PY' || exit 1
import h5py
import numpy as np
rng = np.random.default_rng(3)
w = rng.integers(0x3C00, 0x4400, size=(40, 50, 4), dtype=np.uint16)
for t in range(40):
    w[t, 0:10] = w[t, 0]                  # one group throughout
    if t >= 15:
        w[t, 20:26] = w[t, 20]            # forms at step 15
    if t < 8:
        w[t, 30:34] = w[t, 30]            # breaks apart at step 8
with h5py.File("groups.h5", "w") as f:
    f["W"] = w
    f["dead_mask"] = np.arange(50) % 3 == 0
    f["steps"] = np.arange(40) * 100
EOF_PY
timeout 120 "${mpiexec[@]}" -np 1 "$latdisp" generate --output none.h5 --steps 6 --tokens 30 --dims 8 --overwrite \
  >/dev/null || exit 1

# shellcheck source=tests/check_png.sh
source "$source/tests/check_png.sh"

# plot_and_check INPUT STEPS: report at 2 ranks, then the tool exits 0, silent on stderr, with a good PNG.
plot_and_check() {
  local name=$1 steps=$2 why
  if ! timeout 120 "${mpiexec[@]}" -np 2 "$latdisp" blackholes --matrix "$name.h5" --steps "$steps" \
    --report "$name.json" >/dev/null 2>&1; then
    fail=$((fail + 1)) && echo "FAIL: blackholes on $name.h5" && return
  fi
  if "$python" "$tool" "$name.json" --out "$name.png" >"$name.plot.out" 2>"$name.plot.err" &&
    [ ! -s "$name.plot.err" ] && why=$(check_png "$name.png" 2>&1); then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL plot_blackholes.py $name.json: ${why:-}"
    head -20 "$name.plot.err"
  fi
}
plot_and_check groups all
plot_and_check none 0:5:2
echo '{"schema": "latdisp.analyze/1"}' >other.json
if "$python" "$tool" other.json --out other.png >/dev/null 2>&1 || [ -e other.png ]; then
  fail=$((fail + 1)) && echo "FAIL: a report of another schema was plotted"
else
  pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
