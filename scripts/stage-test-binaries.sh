#!/usr/bin/env bash
# Copies the binaries under test into a directory every user can read, so
# that integration tests running as root can execute them as DS_TEST_USER.
# Usage: stage-test-binaries.sh STAGE_DIR BINARY...
set -euo pipefail
stage=$1
shift
mkdir -p "$stage/bin"
chmod 755 "$stage" "$stage/bin"
for b in "$@"; do
  # Copy to a temp name and rename: a running copy is never overwritten.
  install -m 755 "$b" "$stage/bin/.$(basename "$b").tmp"
  mv -f "$stage/bin/.$(basename "$b").tmp" "$stage/bin/$(basename "$b")"
done
