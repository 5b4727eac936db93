#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, start dsd, give
# the example workspace its own local database branch, apply its Drizzle
# migrations, branch it again, and show which databases the workspace
# points at.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ds dsd

demo=/tmp/ds-demo-$(id -u)
rm -rf "$demo/workspace"
mkdir -p "$demo/bin" "$demo/workspace"
install -m 755 build/release/bin/ds build/release/bin/dsd "$demo/bin/"
cp scripts/example-workspace/.env scripts/example-workspace/ds.toml "$demo/workspace/"
cp -r scripts/example-workspace/drizzle "$demo/workspace/"
chmod -R a+rX "$demo"

run=()
if [[ $(id -u) -eq 0 ]]; then
  # PostgreSQL refuses to run as root, so as root the demo runs as an
  # ordinary user, with its own home for ds's state.
  user=ds-test
  scripts/ensure-test-user.sh "$user"
  chown -R "$user:" "$demo"
  run=(setpriv "--reuid=$user" "--regid=$user" --init-groups --
       env "HOME=$(getent passwd "$user" | cut -d: -f6)" "USER=$user")
fi

step() {
  echo
  echo "\$ ds $*"
  (cd "$demo/workspace" && "${run[@]}" "$demo/bin/ds" "$@")
}

step daemon start
step setup
step db migrate --yes
step db migrate --status
step db create-branch demo-feature --parent dev-demo-local
step db current
step db branches
echo
echo "dsd keeps running for the next ds call; \`ds daemon stop\` stops it and its PostgreSQL."
