#!/usr/bin/env bash
# The command line's small promises: latdisp without a subcommand is a usage
# error (exit 1, the usage on stderr), --version, defaults shown without float
# noise, the analyze description names motion, analyze names the files it wrote.
# usage: cli_smalls.sh LATDISP WORKDIR MPIEXEC [MPIEXEC_FLAGS...]
set -u
latdisp=$1 work=$2
shift 2
mpiexec=("$@")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

"$latdisp" >out.txt 2>err.txt
check "no subcommand exits 1" test $? -eq 1
check "no subcommand prints the usage on stderr" grep -q '^usage: latdisp SUBCOMMAND' err.txt
check "no subcommand prints nothing on stdout" test ! -s out.txt
"$latdisp" --version >version.txt
check "--version exits 0" test $? -eq 0
check "--version prints latdisp and a version" grep -Eq '^latdisp [0-9]+\.[0-9]+\.[0-9]+$' version.txt
"$latdisp" --help >help.txt
check "--help exits 0" test $? -eq 0
check "the top-level help says analyze measures motion" grep -q 'motion over training' help.txt
"$latdisp" analyze --help >analyze_help.txt
check "analyze --help names motion in its description" grep -q '^latdisp analyze: .*motion' analyze_help.txt
for command in analyze generate pack blackholes inspect separation; do
  "$latdisp" "$command" --help >"help_$command.txt"
  check "$command --help shows no float noise in its defaults" \
    bash -c "! grep -E '\(=[-0-9.e+]*[0-9]{8,}[-0-9.e+]*\)' help_$command.txt"
done
check "generate --help shows --dead-fraction (=0.1)" grep -q -- '--dead-fraction arg (=0.1) ' help_generate.txt

timeout 120 "${mpiexec[@]}" -np 2 "$latdisp" generate --output w.h5 --steps 4 --tokens 10 --dims 8 >/dev/null
timeout 120 "${mpiexec[@]}" -np 2 "$latdisp" analyze --input w.h5 --report r.json --series-csv s.csv \
  --progress-seconds 0 >/dev/null 2>analyze_err.txt
check "analyze runs" test $? -eq 0
check "analyze names its report and series" \
  grep -q '^latdisp analyze: wrote JSON report r.json; per-step series s.csv$' analyze_err.txt
exit $((failures > 0))
