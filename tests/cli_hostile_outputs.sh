#!/usr/bin/env bash
# Hostile folders, produced for real at the rank count given: outputs that
# name a file the run reads (a checkpoint of a series directory, a glob's or
# a manifest's file, a shard, an index, the dead-mask file, links to them);
# symbolic links planted at the temporary names of the next PIDs; stale
# temporaries (this user's, another user's, a 20 MB one); symbolic links and
# foreign folders named generation-* and a planted manifest temporary in a
# checkpoint directory; a FIFO or a wrongly typed checkpoint manifest; a
# checkpoint directory that is the series; symbolic link loops; paths longer
# than MPI-IO's buffers; names longer than the folder allows; sizes past
# int64. Each check: the exit code, the one message, the bytes of every file
# involved, no temporary left; every command bounded by timeout.
# usage: cli_hostile_outputs.sh PART LATDISP PYTHON WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
#   PART: reads (outputs naming files the run reads, link loops, sizes), folders
#   (planted links and temporaries, checkpoint directories), paths (long paths and names).
set -u
part=$1 latdisp=$2 python=$3 work=$4 ranks=$5
shift 5
mpiexec=("$@")
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=tests/cli_hostile_common.sh
source "$here/cli_hostile_common.sh"
cd "$work" || exit 1
"${mpiexec[@]}" -np 1 "$latdisp" generate --output w.h5 --steps 6 --tokens 40 --dims 8 >/dev/null || exit 1
"$python" "$here/make_hostile_inputs.py" series . w.h5 || exit 1
host=$(hostname)
dead_pid=$(($(cat /proc/sys/kernel/pid_max) + 1))  # a number no process can have

reads_part() {
# --- Outputs that name a file the run reads: refused up front, inputs untouched.
refuse_output() {  # NAME ARGS...
  local name=$1 before
  shift
  before=$(fingerprint S Sh m.txt w.h5)
  run_latdisp 60 "$@"
  expect_refusal 3 "latdisp never writes over what it reads"
  [ "$(fingerprint S Sh m.txt w.h5)" = "$before" ] || problem "an input file changed"
  no_temporaries . S Sh
  finish_check "$name"
}
ln S/step_40.safetensors hard.safetensors
ln -s S/step_50.safetensors sym.safetensors
refuse_output "--output is a checkpoint of the series directory" \
  analyze --input S --dataset emb --output S/step_20.safetensors --overwrite
refuse_output "--per-token is a checkpoint of the series directory" \
  analyze --input S --dataset emb --per-token S/step_20.safetensors --overwrite
refuse_output "--report is a file of the glob" \
  analyze --input 'S/step_*.safetensors' --dataset emb --report S/step_10.safetensors --overwrite
refuse_output "--per-token is a file of the manifest" \
  analyze --input m.txt --dataset emb --per-token S/step_0.safetensors --overwrite
refuse_output "--output is a shard the index names" \
  analyze --input Sh --dataset emb --output Sh/checkpoint-20/model-00001-of-00002.safetensors --overwrite
refuse_output "--report is a checkpoint's index" \
  analyze --input Sh --dataset emb --report Sh/checkpoint-20/model.safetensors.index.json --overwrite
refuse_output "blackholes --steps all --output is a checkpoint" \
  blackholes --matrix S:emb --steps all --output S/step_30.safetensors --overwrite
refuse_output "--output is the dead-mask file" \
  analyze --input S --dataset emb --dead-mask w.h5:dead_mask --output w.h5 --overwrite
refuse_output "--output is a hard link of a checkpoint" \
  analyze --input S --dataset emb --output hard.safetensors --overwrite
refuse_output "--report is a symbolic link to a checkpoint" \
  analyze --input S --dataset emb --report sym.safetensors --overwrite

}

folders_part() {
# --- Symbolic links planted at the temporary names of the next 400 PIDs.
planted_links() {
  local name before
  mkdir plant
  echo "the victim's own text" >plant/victim.txt
  "$python" - "$$" "$host" <<'PY'
import os, sys
first, host = int(sys.argv[1]), sys.argv[2]
for pid in range(first, first + 401):
    for name in ("r.json", "o.h5", "p.csv"):
        os.symlink("victim.txt", f"plant/.{name}.latdisp-partial-{host}-{pid}")
PY
  before=$(fingerprint plant)
  run_latdisp 60 analyze --input w.h5 --report plant/r.json --output plant/o.h5 --per-token plant/p.csv
  expect_success
  [ "$(fingerprint plant | grep -v -E 'plant/(r\.json|o\.h5|p\.csv)( |$)')" = "$before" ] ||
    problem "the victim or a planted link changed"
  grep -q "removed" "$work/err.txt" && problem "it removed something: $(grep -c removed "$work/err.txt") lines"
  for name in r.json o.h5 p.csv; do
    if [ ! -f "plant/$name" ] || [ -L "plant/$name" ]; then problem "plant/$name not written"; fi
  done
  "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' plant/r.json || problem "plant/r.json is not JSON"
  no_temporaries plant
}
planted_links
finish_check "symbolic links at the temporary names of the next 400 PIDs are neither written through nor removed"

# --- Stale temporaries: this user's (20 MB, at the output's old and new names) removed, another user's kept;
# the outputs are those of a clean folder, byte for byte.
stale_temporaries() {
  local foreign before
  mkdir clean stale
  run_latdisp 60 analyze --input w.h5 --output clean/o.safetensors --per-token clean/p.safetensors
  expect_success
  head -c 20000000 /dev/urandom >"stale/.o.safetensors.latdisp-partial-$host-$dead_pid"
  head -c 20000000 /dev/urandom >"stale/.p.safetensors.latdisp-partial-$host-$dead_pid-0123456789abcdef"
  foreign="stale/.o.safetensors.latdisp-partial-$host-$((dead_pid + 1))"
  echo "another user's file" >"$foreign"
  chown nobody "$foreign" 2>/dev/null || rm "$foreign"
  before=$(fingerprint "$foreign")
  run_latdisp 60 analyze --input w.h5 --output stale/o.safetensors --per-token stale/p.safetensors
  expect_success
  [ "$(grep -c "removed .*partial file" "$work/err.txt")" -eq 2 ] || problem "not two 'removed' lines"
  [ "$(fingerprint "$foreign")" = "$before" ] || problem "another user's file was touched"
  [ -e "stale/.o.safetensors.latdisp-partial-$host-$dead_pid" ] && problem "this user's stale temporary is left"
  cmp -s clean/o.safetensors stale/o.safetensors || problem "--output differs from a clean folder's"
  cmp -s clean/p.safetensors stale/p.safetensors || problem "--per-token differs from a clean folder's"
  no_temporaries stale
}
stale_temporaries
finish_check "stale temporaries: this user's removed, another user's kept, outputs as in a clean folder"

# --- A checkpoint directory holding what latdisp did not write there.
checkpointed() {  # DIR: a run that writes a checkpoint at every block boundary, then completes
  run_latdisp 60 analyze --input w.h5 --report "$1.json" --checkpoint-dir "$1" --checkpoint-seconds 0.001 \
    --max-steps-per-block 2 --overwrite
  expect_success
  grep -q '"written": [1-9]' "$1.json" || problem "no checkpoint was written"
}
foreign_generations() {
  local before
  mkdir -p ck/generation-results ck/generation-000002 victim
  echo results >ck/generation-results/file.txt
  echo notes >ck/generation-000002/notes.txt
  echo precious >victim/a.txt
  ln -s ../victim ck/generation-000001
  ln -s ../victim.txt ck/manifest.json.partial
  echo "the victim's own text" >victim.txt
  before=$(fingerprint ck victim victim.txt)
  checkpointed ck
  [ "$(fingerprint ck victim victim.txt)" = "$before" ] || problem "the directory's foreign entries changed"
  no_temporaries ck
}
foreign_generations
finish_check "--checkpoint-dir: foreign generation-* folders, links and a planted manifest temporary left alone"

# --- Damaged manifests: a FIFO, wrongly typed JSON (exit 1, the field named).
resume_refused() {  # NAME PATTERN
  local before
  before=$(fingerprint "$1")
  run_latdisp 30 analyze --input w.h5 --checkpoint-dir "$1" --resume
  expect_refusal 1 "$2"
  [ "$(fingerprint "$1")" = "$before" ] || problem "the checkpoint directory changed"
  finish_check "--resume from $1"
}
mkdir fifo_ck && mkfifo fifo_ck/manifest.json
resume_refused fifo_ck "not a regular file"
mkdir typed_ck && echo '{"format": 5, "generation": 1, "next_step": 2, "files": [], "identity": {}}' >typed_ck/manifest.json
resume_refused typed_ck 'field "format" is number; expected a string'
mkdir typed_ck2
cat >typed_ck2/manifest.json <<'JSON'
{"format": "latdisp.checkpoint/2", "generation": 1, "next_step": 2, "directory": "generation-000001",
 "files": [{"rank": 0, "name": 7, "hash": "0"}], "identity": {"format": "latdisp.checkpoint/2", "input": 3}}
JSON
resume_refused typed_ck2 'field "input" is number; expected an object'


# --- A rank that does not answer (stopped) while another is told to stop: one message, exit 5.
unresponsive_rank() {
  local job launcher pids
  "${mpiexec[@]}" -np 1 "$latdisp" generate --output slow.h5 --steps 40 --tokens 40 --dims 8 >/dev/null
  timeout 60 "${mpiexec[@]}" -np "$ranks" "$latdisp" analyze --input slow.h5 --max-steps-per-block 2 \
    --block-pause 1 --progress-seconds 0 --report slow.json >/dev/null 2>"$work/err.txt" &
  job=$!
  for _ in $(seq 100); do  # until both ranks run (bounded)
    launcher=$(pgrep -P "$job" | head -1)
    [ -n "$launcher" ] && [ "$(pgrep -P "$launcher" | wc -l)" -ge 2 ] && break
    sleep 0.1
  done
  mapfile -t pids < <(pgrep -P "$launcher")
  sleep 2
  kill -STOP "${pids[1]}"
  kill -TERM "${pids[0]}"
  wait "$job"
  code=$?
  kill -KILL "${pids[1]}" 2>/dev/null
  expect_refusal 5 "could not stop together in time"
  [ -e slow.json ] && problem "a report was written"
  no_temporaries .
}
if [ "$ranks" -ge 2 ]; then
  unresponsive_rank
  finish_check "SIGTERM while another rank does not answer: one message, exit 5"
fi
}

more_reads_part() {
# --- A checkpoint directory that is the series; symbolic link loops; sizes past int64.
before=$(fingerprint S)
run_latdisp 30 analyze --input S --dataset emb --checkpoint-dir S
expect_refusal 1 "is the series directory"
[ "$(fingerprint S)" = "$before" ] || problem "the series changed"
finish_check "--checkpoint-dir is the series directory: exit 1"
ln -s loop_b loop_a && ln -s loop_a loop_b
run_latdisp 30 analyze --input loop_a
expect_refusal 2 "symbolic link that loops"
finish_check "an input that is a symbolic link loop"
run_latdisp 30 analyze --input w.h5 --dead-mask loop_a:dead_mask
expect_refusal 2 "loops"
finish_check "a dead-mask file that is a symbolic link loop"
run_latdisp 30 generate --output big.h5 --steps 9223372036854775807 --tokens 10 --dims 4
expect_refusal 1 "too large"
[ -e big.h5 ] && problem "big.h5 was written"
no_temporaries .
finish_check "generate --steps INT64_MAX: an option error"

}

paths_part() {
# --- Long paths: a 241-character folder and a 214-character name, outputs as with short paths.
long_paths() {
  local folder name
  folder=$(printf 'd%.0s' $(seq 241))
  name=$(printf 'n%.0s' $(seq 214))
  mkdir -p "$folder" short
  run_latdisp 60 generate --output "$folder/in.h5" --steps 6 --tokens 40 --dims 8
  expect_success
  cmp -s w.h5 "$folder/in.h5" || problem "the generated file differs from the short path's"
  # The references: the same input, short output names (an output names its source, not itself).
  run_latdisp 60 analyze --input "$folder/in.h5" --output short/o.safetensors --per-token short/p.safetensors
  run_latdisp 60 analyze --input "$folder/in.h5" --output short/o.h5
  run_latdisp 60 analyze --input "$folder/in.h5" --output "$folder/o.safetensors" --per-token "$folder/p.safetensors" \
    --report "$folder/r.json"
  expect_success
  run_latdisp 60 analyze --input "$folder/in.h5" --output "$name.h5"
  expect_success
  cmp -s short/o.safetensors "$folder/o.safetensors" || problem "--output .safetensors differs"
  cmp -s short/p.safetensors "$folder/p.safetensors" || problem "--per-token differs"
  cmp -s short/o.h5 "$name.h5" || problem "--output .h5 under a 214-character name differs"
  cp w.h5 "$folder/$name.h5"
  run_latdisp 60 analyze --input w.h5 --output short/o2.safetensors
  run_latdisp 60 analyze --input "$folder/$name.h5" --read-method read --output "$folder/o2.safetensors"
  expect_success
  "$python" - short/o2.safetensors "$folder/o2.safetensors" <<'PY' || problem "the output of a 456-character input differs"
import json, struct, sys
def parts(path):  # the header without the source's name, and the tensors' bytes
    data = open(path, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    header["__metadata__"].pop("source")
    return header, data[8 + length:]
sys.exit(0 if parts(sys.argv[1]) == parts(sys.argv[2]) else 1)
PY
  # A safetensors input read with MPI-IO (its U tensor is a trajectory) under the long folder.
  cp "$folder/o.safetensors" short/u.safetensors
  run_latdisp 60 analyze --input short/u.safetensors --dataset U --read-method read --report short/u.json
  run_latdisp 60 analyze --input "$folder/o.safetensors" --dataset U --read-method read --report "$folder/u.json"
  expect_success
  "$python" "$here/compare_reports.py" --ignore input short/u.json "$folder/u.json" >/dev/null ||
    problem "a safetensors input under the long folder reads differently"
  no_temporaries . "$folder"
}
long_paths
finish_check "paths of 241 + 214 characters through MPI-IO and parallel HDF5"
name=$(printf 'r%.0s' $(seq 260))
run_latdisp 60 analyze --input w.h5 --report "$name.json" --output early.h5
expect_refusal 3 "its name is 265 characters long"
[ -e early.h5 ] && problem "early.h5 was written"
no_temporaries .
finish_check "a --report name longer than the folder allows: refused before the work"
}

case $part in
  reads) reads_part && more_reads_part ;;
  folders) folders_part ;;
  paths) paths_part ;;
  *) echo "unknown part '$part'"; exit 2 ;;
esac
finish_test
