#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what it needs,
# builds, and runs every test (unit, integration, interoperability peers,
# packaging, the fuzz smoke run). This is the test command README.md names
# and .ci/run calls.
#
# By default (what CI runs) the unit and integration tests run in the
# ASan+UBSan build (build/asan), where a sanitizer finding fails the test
# that caused it, and the release build (without the unit test binaries)
# runs only what needs the shipped binaries: the man pages, completions and
# the .deb (label `package`), and the fuzz smoke run (label `fuzz`). Both
# builds are unity builds (CMAKE_UNITY_BUILD): compiling the same gRPC,
# protobuf and abseil templates once per batch of files instead of once per
# file is what brings a cold ASan build into CI's 30 minutes
# (docs/sanitizers.md, "Cost").
#
# Environment:
#   DS_SANITIZE    asan (default; also "1"): as above.
#                  tsan: the unit and integration tests in the ThreadSanitizer
#                  build (build/tsan; slower, not what CI runs), then the
#                  release part as for asan.
#                  0: every test in the release build, no sanitizer (quicker
#                  to build; what a release-only bug would need).
#   DS_UNITY_BUILD ON (default) or OFF: OFF builds file by file, as the
#                  presets do by hand (a unity tree recompiles a whole batch
#                  when one file of it changes).
#   DS_TEST_STAGE  world-readable directory for staged binaries and npm peers
#                  (default /tmp/ds-test-stage-<checkout hash>)
#   DS_TEST_USER   unprivileged user the tests use when run as root (ds-test)
#   CTEST_ARGS     extra arguments for ctest, e.g. "-L unit" or
#                  "-R integration.local_provider"; each build runs the tests
#                  of its share that match, and it is an error if none does.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=${DS_SANITIZE:-asan}
case $sanitize in
  1 | asan) sanitize=asan ;;
  tsan | 0) ;;
  *) echo "test.sh: DS_SANITIZE must be asan, tsan or 0, not '$sanitize'" >&2; exit 2 ;;
esac
unity=${DS_UNITY_BUILD:-ON}
case $unity in
  ON | OFF) ;;
  *) echo "test.sh: DS_UNITY_BUILD must be ON or OFF, not '$unity'" >&2; exit 2 ;;
esac

scripts/install-deps.sh

test_user=${DS_TEST_USER:-ds-test}
scripts/ensure-test-user.sh "$test_user"
# A second unprivileged user for the hostile-user cases (another user's ds
# pointed at your socket: test_cli.py; another user reading a .env:
# test_local_provider.py).
scripts/ensure-test-user.sh "${test_user}2"

# One stage per checkout: the npm peers (shared by the builds) and one
# directory of staged binaries per build.
hash=$(printf '%s' "$PWD" | md5sum | cut -c1-8)
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

# Configures and builds one preset, its binaries staged under $stage/<preset>;
# the second argument says whether to build the unit test binaries.
build() {
  mkdir -p "$stage/$1"
  chmod 755 "$stage/$1"
  cmake --preset "$1" -DDS_TEST_STAGE="$stage/$1" -DDS_PEERS_DIR="$stage/peers" \
    -DDS_TEST_USER="$test_user" -DDS_BUILD_UNIT_TESTS="$2" -DCMAKE_UNITY_BUILD="$unity" >/dev/null
  cmake --build --preset "$1"
}

# Runs the tests of one preset that match FILTER... and CTEST_ARGS; prints
# how many there were (0: none matched, nothing run).
ran=0
run_tests() {
  local preset=$1
  shift
  local n
  # shellcheck disable=SC2086
  n=$(ctest --preset "$preset" -N "$@" ${CTEST_ARGS:-} | sed -n 's/^Total Tests: //p')
  if [[ ${n:-0} -eq 0 ]]; then
    # shellcheck disable=SC2016  # the quotes are part of the message
    echo "test.sh: no $preset tests match${CTEST_ARGS:+ '$CTEST_ARGS'}"
    return
  fi
  ran=$((ran + n))
  # shellcheck disable=SC2086
  ctest --preset "$preset" "$@" ${CTEST_ARGS:-}
}

if [[ $sanitize == 0 ]]; then
  build release ON
  run_tests release
else
  build "$sanitize" ON
  run_tests "$sanitize" -LE '^(package|fuzz)$'
  build release OFF
  run_tests release -L '^(package|fuzz)$'
fi

if ((ran == 0)); then
  echo "test.sh: no test matches '${CTEST_ARGS:-}'" >&2
  exit 8
fi
