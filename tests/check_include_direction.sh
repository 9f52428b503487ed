#!/usr/bin/env bash
# The stages of src/ include only the stages below them (docs/architecture.md),
# and the kernels include nothing of src/. Fails naming every include that
# runs the other way.
set -euo pipefail
root=${1:?usage: check_include_direction.sh SOURCE_DIR}
cd "$root"

# stage: the folders it may include (besides itself)
declare -A allowed=(
  [kokkos_kernels]=""
  [parallel]=""
  [io]="parallel"
  [config]="io parallel kokkos_kernels"
  [synthetic]="config io parallel kokkos_kernels"
  [convert]="config io parallel kokkos_kernels"
  [bits]="config io parallel kokkos_kernels"
  [analysis]="config io parallel kokkos_kernels"
  [survey]="config io parallel kokkos_kernels"
  [report]="analysis config io parallel kokkos_kernels"
  [optimizer]="analysis config io parallel kokkos_kernels"
  [app]="optimizer report analysis bits survey synthetic convert config io parallel kokkos_kernels"
)

violations=0
for stage in "${!allowed[@]}"; do
  dir=src/$stage
  [ "$stage" = kokkos_kernels ] && dir=kokkos_kernels
  [ -d "$dir" ] || { echo "missing stage folder $dir"; violations=$((violations + 1)); continue; }
  while IFS=: read -r file _ include; do
    target=${include#*\"}
    target=${target%%/*}
    [ "$target" = "$stage" ] && continue
    # The element types (Kokkos-free) are every stage's vocabulary, io's too.
    [ "${include#*\"}" = 'kokkos_kernels/formats/element_type.hpp"' ] && continue
    case " ${allowed[$stage]} " in
      *" $target "*) ;;
      *) echo "$file includes $target/: $stage may include only: ${allowed[$stage]:-nothing}"
         violations=$((violations + 1)) ;;
    esac
  done < <(grep -Hn '^#include "' "$dir"/*.hpp "$dir"/*.cpp 2>/dev/null || true)
done
# Every folder of src/ is a known stage.
for dir in src/*/; do
  stage=$(basename "$dir")
  [ -n "${allowed[$stage]+set}" ] || { echo "src/$stage is not a known stage"; violations=$((violations + 1)); }
done
# The stages below the command line see nothing of Boost (they receive typed
# configurations; config/option_echo.hpp carries the options' echo): no file
# of theirs reaches a Boost header through the project's own includes.
declare -A boost_chain=() includes_of=()
# Every file's project includes (as paths), and a Boost include as "<boost>", in one read.
while IFS=: read -r file include; do
  case $include in
    *'<boost/'*) includes_of[$file]+=" <boost>" ;;
    *'"'*) target=${include#*\"}; target=${target%%\"*}
           if [ -f "src/$target" ]; then includes_of[$file]+=" src/$target"
           elif [ -f "$target" ]; then includes_of[$file]+=" $target"; fi ;;
  esac
done < <(grep -RHo --include='*.hpp' --include='*.cpp' '^#include [<"][^">]*[">]' src kokkos_kernels || true)
# Sets `chain` to how `file` reaches a Boost header ("" where it does not).
find_boost() {
  local file=$1 next
  if [ -n "${boost_chain[$file]+set}" ]; then chain=${boost_chain[$file]}; return; fi
  boost_chain[$file]=""  # also ends include cycles
  for next in ${includes_of[$file]:-}; do
    if [ "$next" = "<boost>" ]; then chain=$file; else find_boost "$next"; [ -n "$chain" ] && chain="$file -> $chain"; fi
    if [ -n "$chain" ]; then boost_chain[$file]=$chain; return; fi
  done
  chain=""
}
for stage in analysis report bits optimizer survey convert synthetic; do
  for file in src/"$stage"/*.hpp src/"$stage"/*.cpp; do
    [ -f "$file" ] || continue
    find_boost "$file"
    [ -z "$chain" ] || { echo "$file reaches Boost: $chain"; violations=$((violations + 1)); }
  done
done
if [ "$violations" -gt 0 ]; then
  echo "$violations include(s) against the stage order or reaching Boost"
  exit 1
fi
echo "include direction: every stage includes only the stages below it, and none below app/ reaches Boost"
