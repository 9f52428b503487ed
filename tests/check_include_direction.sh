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
if [ "$violations" -gt 0 ]; then
  echo "$violations include(s) against the stage order"
  exit 1
fi
echo "include direction: every stage includes only the stages below it"
