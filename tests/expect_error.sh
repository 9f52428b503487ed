# shellcheck shell=bash disable=SC2154  # `work` and `launch` come from the sourcing script
# Sourced by the command-line bad-input tests. The caller defines `launch`
# (how latdisp is started) and `work` (a scratch directory).
# expect_error CODE PATTERN -- ARGS...: `launch ARGS...` must exit with CODE and
# print exactly one "latdisp: error:" line (rank 0 only), matching PATTERN.
checks=0
failures=0
expect_error() {
  local code=$1 pattern=$2
  shift 3
  local err="$work/stderr.txt"
  checks=$((checks + 1))
  launch "$@" >/dev/null 2>"$err"
  local got=$?
  local lines
  lines=$(grep -c "^latdisp: error:" "$err")
  if [ "$got" -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" "$err"; then
    echo "FAIL: latdisp $* -> exit $got (want $code), $lines error line(s) (want 1), pattern '$pattern'"
    sed 's/^/    /' "$err" | head -20
    failures=$((failures + 1))
  else
    echo "ok: $(grep '^latdisp: error:' "$err")"
  fi
}
