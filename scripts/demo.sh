#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, start dsd and
# show which databases the example workspace points at.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release/bin
"$bin/ds" daemon start
echo
"$bin/ds" db current -C scripts/example-workspace
echo
"$bin/ds" config show -C scripts/example-workspace
