#!/usr/bin/env bash
# The saved tensors equal the exact values (tests/reference/check_saved_output.py)
# at the edges of the saving kernel's fast path: every exponent of b against a
# in the same binade, 8 and 9 binades up, one down, at the limits of int8 and
# int16, and the special values; both formats, both zero-ULP rules, 1 and 2 ranks.
# usage: cli_save_boundaries.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
check="$source/tests/reference/check_saved_output.py"
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.h5 ./*.safetensors
"$python" "$source/tests/reference/make_save_boundaries.py" pairs.h5 || exit 1
pass=0 fail=0
run() {  # run NAME COMMAND...: counts the outcome
  local name=$1
  shift
  if timeout 300 "$@" >"$name.log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name"
    sed 's/^/    /' "$name.log" | head -12
  fi
}
for setting in "h5 int8 min-normal 2" "h5 int16 min-subnormal 1" "safetensors auto min-normal 2" \
               "safetensors int32 min-subnormal 2"; do
  read -r format dtype zero_ulp ranks <<<"$setting"
  out="pairs_${dtype}_$zero_ulp.$format"
  run "save_$out" "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input pairs.h5 --output "$out" \
    --save-dtype "$dtype" --zero-ulp "$zero_ulp" --progress-seconds 0
  dtype_check=()
  [ "$dtype" != auto ] && dtype_check=(--dtype "$dtype")
  run "check_$out" "$python" "$check" pairs.h5 "$out" --zero-ulp "$zero_ulp" "${dtype_check[@]}"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
