# shellcheck shell=bash
# Sourced by the reference checks: start_references PYTHON SOURCE_DIR FILE...
# computes the exact rational reference (tools/reference_analyze.py) of every
# FILE under both zero-ULP rules, as FILE.RULE.reference.json, in the
# background while latdisp runs (the reference takes one core); its process id
# is left in `references` (wait on it before comparing).
start_references() {
  local python=$1 source=$2
  shift 2
  (
    for file in "$@"; do
      for zero_ulp in min-normal min-subnormal; do
        "$python" "$source/tools/reference_analyze.py" "$file" --zero-ulp "$zero_ulp" \
          --output "$file.$zero_ulp.reference.json" || exit 1
      done
    done
  ) &
  # shellcheck disable=SC2034  # read by the script that sources this one
  references=$!
}
