#!/usr/bin/env bash
# Saved tensors read back (h5py; a safetensors reader written from the format)
# equal the exact values, for every dtype choice, at 1, 2 and 3 ranks and with
# tiny step blocks; the contents are identical for any rank count (safetensors:
# the bytes); a run
# killed while writing leaves the target name untouched.
# usage: cli_output_roundtrip.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
check="$source/tests/reference/check_saved_output.py"
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.h5 ./*.safetensors
"${mpiexec[@]}" -np 1 "$latdisp" generate --output w.h5 --steps 7 --tokens 41 --dims 20 --special --seed 9 \
  >/dev/null || exit 1
pass=0 fail=0
run() {  # run NAME COMMAND...: counts the outcome
  local name=$1
  shift
  if "$@" >"$name.log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name"
    sed 's/^/    /' "$name.log" | head -12
  fi
}
for format in h5 safetensors; do
  for ranks in 1 2 3; do
    out="out_np${ranks}.$format"
    run "save_np${ranks}_$format" "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input w.h5 --output "$out" \
      --progress-seconds 0
    run "check_np${ranks}_$format" "$python" "$check" w.h5 "$out"
  done
  run "tiny_blocks_$format" "${mpiexec[@]}" -np 3 "$latdisp" analyze --input w.h5 --output "tiny.$format" \
    --max-steps-per-block 2 --progress-seconds 0
  for other in out_np2 out_np3 tiny; do
    run "identical_${other}_$format" "$python" "$check" --same "out_np1.$format" "$other.$format"
  done
  if [ "$format" = safetensors ]; then  # byte for byte, too
    run "bytes_np3_$format" cmp "out_np1.$format" "out_np3.$format"
  fi
  for dtype in int8 int16 int32 int64; do
    run "dtype_${dtype}_$format" "${mpiexec[@]}" -np 2 "$latdisp" analyze --input w.h5 --output "d_$dtype.$format" \
      --save-dtype "$dtype" --zero-ulp min-subnormal --progress-seconds 0
    run "check_${dtype}_$format" "$python" "$check" w.h5 "d_$dtype.$format" --dtype "$dtype" --zero-ulp min-subnormal
  done
done

# Kill test: SIGKILL while writing; the target keeps its old content.
"${mpiexec[@]}" -np 1 "$latdisp" generate --output big.h5 --steps 400 --tokens 3000 --dims 64 >/dev/null || exit 1
echo "old content" >killed.h5
"${mpiexec[@]}" -np 2 "$latdisp" analyze --input big.h5 --output killed.h5 --overwrite --progress-seconds 0 \
  --max-steps-per-block 8 >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  ls .killed.h5.latdisp-partial-* >/dev/null 2>&1 && break
  sleep 0.05
done
sleep 0.3
pkill -KILL -f "latdisp analyze --input big.h5" 2>/dev/null
kill -KILL "$launcher" 2>/dev/null
wait "$launcher" 2>/dev/null
if [ "$(cat killed.h5)" = "old content" ]; then
  pass=$((pass + 1))
else
  fail=$((fail + 1))
  echo "FAIL: a killed run replaced the target"
fi
rm -f .killed.h5.latdisp-partial-*
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
