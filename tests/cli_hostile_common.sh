# shellcheck shell=bash disable=SC2154  # latdisp, ranks, mpiexec, work come from the sourcing script
# Sourced by the cli_hostile_* tests: run latdisp bounded by a timeout, and
# check what a hostile case must give: the exit code, exactly one
# "latdisp: error:" line (rank 0 only) matching a pattern, the bytes of every
# file involved unchanged, no temporary left behind.
checks=0
failures=0
problems=()
problem() { problems+=("$*"); }
finish_check() {  # NAME
  checks=$((checks + 1))
  if [ ${#problems[@]} -eq 0 ]; then
    echo "ok: $1"
  else
    failures=$((failures + 1))
    echo "FAIL: $1:"
    printf '    %s\n' "${problems[@]}"
  fi
  problems=()
}

# run_latdisp SECONDS ARGS...: latdisp at the test's rank count; stdout and
# stderr in $work/out.txt and $work/err.txt; sets `code`.
run_latdisp() {
  local seconds=$1
  shift
  timeout "$seconds" "${mpiexec[@]}" -np "$ranks" "$latdisp" "$@" >"$work/out.txt" 2>"$work/err.txt"
  code=$?
}

# expect_refusal CODE PATTERN: the last run exited CODE with one error line matching PATTERN.
expect_refusal() {
  local lines
  lines=$(grep -c "^latdisp: error:" "$work/err.txt")
  [ "$code" -eq "$1" ] || problem "exit $code, expected $1"
  [ "$lines" -eq 1 ] || problem "$lines error lines, expected 1"
  grep -q -- "$2" "$work/err.txt" || problem "no message matching '$2'"
  [ ${#problems[@]} -eq 0 ] || sed 's/^/      /' "$work/err.txt" | head -8 >&2
}

expect_success() {
  [ "$code" -eq 0 ] || { problem "exit $code, expected 0"; sed 's/^/      /' "$work/err.txt" | head -8 >&2; }
  grep -q "^latdisp: error:" "$work/err.txt" && problem "an error line on a successful run"
}

# fingerprint PATH...: every entry under the paths (links not followed, FIFOs
# never read) with its kind, link target, size (not a folder's) and owner, and each regular
# file's SHA-256, as one text.
fingerprint() {
  local path
  for path in "$@"; do [ -e "$path" ] || [ -L "$path" ] || echo "$path absent"; done
  # A folder's own size is left out: it grows with the entries a run adds,
  # by file-system blocks, so whether it changes depends on the name lengths.
  find "$@" \( -type d -printf '%p %y %u\n' \) -o -printf '%p %y %l %s %u\n' 2>/dev/null | sort
  find "$@" -type f -exec sha256sum {} + 2>/dev/null | sort
}

# no_temporaries FOLDER...: no temporary latdisp made (their names end in 16 random hex digits) is left.
no_temporaries() {
  local left
  left=$(find "$@" -maxdepth 2 \( -name '.*.latdisp-partial-*-????????????????' -o -name '*.partial-????????????????' \) \
    2>/dev/null | wc -l)
  [ "$left" -eq 0 ] || problem "$left temporaries left in $*"
}

finish_test() {
  echo "$checks checks, $failures failed"
  [ "$failures" -eq 0 ]
}
