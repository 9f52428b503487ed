#!/usr/bin/env bash
# The embedded default run (configs/default-data.cfg, configs/default.cfg) shows
# the motion regimes it is made to show: live tokens in thermal motion, then
# hops, with a jitter tail of hops that lasts to the last transition after the
# last thermal step; dead tokens frozen before the end; the text report says so
# and the per-token and series files exist (the configs' paths, here in WORKDIR).
# usage: default_run_regimes.sh LATDISP PYTHON SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]
set -u
latdisp=$1 python=$2 source=$3 work=$4
shift 4
mpiexec=("$@")
mkdir -p "$work" && cd "$work" || exit 1
timeout 300 "${mpiexec[@]}" -np 2 "$latdisp" generate --config "$source/configs/default-data.cfg" \
  --output default.h5 >/dev/null || exit 1
timeout 300 "${mpiexec[@]}" -np 2 "$latdisp" analyze --config "$source/configs/default.cfg" --input default.h5 \
  --report report.json --per-token per-token.csv --series-csv series.csv --progress-seconds 0 --overwrite >report.txt || exit 1
grep -E "^  live tokens: thermal motion last at t=[0-9]+, hops last at t=199, still moving .*jitter" report.txt ||
  { echo "FAIL: the text report does not show the live tokens' jitter tail"; sed -n '/Motion/,/Verdict/p' report.txt; exit 1; }
grep -E "^  dead tokens: .*frozen from t=[0-9]+" report.txt ||
  { echo "FAIL: the text report does not show the dead tokens' freeze"; exit 1; }
"$python" - <<'PY' || exit 1
import csv, json, sys
motion = json.load(open("report.json"))["motion"]
live, dead = motion["live"], motion["dead"]
checks = {
    "live thermal, hop and frozen rows": live["thermal_rows"] > 0 and live["hop_rows"] > 0 and live["frozen_rows"] > 0,
    "live thermal motion ends well before the jitter tail": live["last_thermal_step"] < live["last_hop_step"] - 20,
    "live hops on the last transition (frozen_from null)": live["frozen_from"] is None and live["last_hop_step"] == 199,
    "the jitter tail is a few tokens": 0 < live["per_step"]["hop"][-1] < 100,
    "dead tokens freeze before the end": dead["frozen_from"] is not None and dead["frozen_from"] < 199,
}
rows = list(csv.DictReader(open("per-token.csv")))
checks["a per-token row per token"] = len(rows) == 1000
checks["over half the live tokens frozen for the last 20 transitions"] = sum(
    int(r["final_frozen_run"]) >= 20 for r in rows if r["dead"] == "0") > 0.5 * sum(r["dead"] == "0" for r in rows)
checks["a series row per transition"] = len(list(csv.DictReader(open("series.csv")))) == 200
failed = [name for name, ok in checks.items() if not ok]
for name in failed:
    print("FAIL:", name)
sys.exit(1 if failed else 0)
PY
echo "the default run shows thermal motion, hops, a freeze and a jitter tail"
