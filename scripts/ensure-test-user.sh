#!/usr/bin/env bash
# Creates the unprivileged user that runs dsd and PostgreSQL when the tests,
# the demo or the benchmarks are run as root (initdb refuses root, and dsd
# serves only its owner). Idempotent; does nothing for other users.
# Usage: ensure-test-user.sh [USER]   (default ds-test)
set -euo pipefail
user=${1:-ds-test}
[[ $(id -u) -eq 0 ]] || exit 0
id "$user" >/dev/null 2>&1 ||
  useradd --system --create-home --home-dir "/var/lib/$user" --shell /usr/sbin/nologin "$user"
