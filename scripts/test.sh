#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what it needs,
# builds, and runs every test (unit, integration, interoperability peers).
# This is the test command README.md names and .ci/run calls.
#
# Environment:
#   DS_TEST_STAGE  world-readable directory for staged binaries and npm peers
#                  (default /tmp/ds-test-stage-<build hash>)
#   DS_TEST_USER   unprivileged user the tests use when run as root (ds-test)
#   CTEST_ARGS     extra arguments for ctest, e.g. "-L unit"
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

test_user=${DS_TEST_USER:-ds-test}
scripts/ensure-test-user.sh "$test_user"
# A second unprivileged user for the hostile-user cases (another user's ds
# pointed at your socket: test_cli.py; another user reading a .env:
# test_local_provider.py).
scripts/ensure-test-user.sh "${test_user}2"

build_dir=build/release
hash=$(printf '%s' "$PWD/$build_dir" | md5sum | cut -c1-8)
stage=${DS_TEST_STAGE:-/tmp/ds-test-stage-$hash}
mkdir -p "$stage/peers"
chmod 755 "$stage" "$stage/peers"

# npm peers go to the stage, readable by the test user; reinstalled only
# when the lock file changes.
if ! cmp -s tests/peers/package-lock.json "$stage/peers/package-lock.json" ||
   [[ ! -d $stage/peers/node_modules ]]; then
  cp tests/peers/package.json tests/peers/package-lock.json "$stage/peers/"
  (cd "$stage/peers" && npm ci --no-audit --no-fund --loglevel=error)
  chmod -R a+rX "$stage/peers"
fi
# The peers' own scripts (the Stripe emulator's launcher, ...) import from
# node_modules, so they live beside it.
cp tests/peers/*.mjs "$stage/peers/"
chmod a+r "$stage/peers/"*.mjs

cmake --preset release -DDS_TEST_STAGE="$stage" -DDS_PEERS_DIR="$stage/peers" \
  -DDS_TEST_USER="$test_user" >/dev/null
cmake --build --preset release
# shellcheck disable=SC2086
ctest --preset release ${CTEST_ARGS:-}
