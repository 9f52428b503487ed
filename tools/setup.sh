#!/usr/bin/env bash
# Installs latdisp's Debian packages (when run as root, or with sudo) and
# builds it in ./build. Sourced by run_default.sh and run_tests.sh:
# LATDISP_BUILD_TARGETS names what to build (default: everything, the tests
# included; run_default.sh builds only the latdisp executable).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(build-essential cmake openmpi-bin libopenmpi-dev libhdf5-openmpi-dev libtrilinos-kokkos-dev
          libboost-program-options-dev libboost-dev libgtest-dev nlohmann-json3-dev
          python3 python3-numpy python3-h5py python3-matplotlib python3-pandas python3-pytest python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Open MPI refuses root unless told; these are harmless otherwise.
if [ "$(id -u)" -eq 0 ]; then
  echo "setup: running as root: setting OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 for mpirun"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
targets=${LATDISP_BUILD_TARGETS:-all}
echo "setup: configuring and building ($targets) in build/ with $(nproc) job(s);" \
  "(a first build from nothing takes several minutes on 2 cores, more with the tests; a rebuild, seconds)"
build_start=$SECONDS
# shellcheck disable=SC2086  # LATDISP_CMAKE_ARGS holds several arguments
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${LATDISP_CMAKE_ARGS:-} >/dev/null
# shellcheck disable=SC2086  # several targets
cmake --build build -j "$(nproc)" --target $targets
echo "setup: build done in $((SECONDS - build_start)) s"
