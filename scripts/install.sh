#!/usr/bin/env bash
# Installs ds from its Debian package, with the dependencies apt finds for it
# (libpq5, libcurl4, ...; postgresql-15 as recommended).
#
#   scripts/install.sh [PATH/TO/ds_VERSION_ARCH.deb]
#
# Without an argument it packages the release build (cpack in build/release,
# building first if needed). Needs root (or sudo). Afterwards, as your user:
#   systemctl --user enable --now dsd.socket
set -euo pipefail
cd "$(dirname "$0")/.."

deb=${1:-}
if [[ -z $deb ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release
  (cd build/release && cpack -G DEB >/dev/null)
  deb=$(ls -t build/release/ds_*.deb | head -n1)
fi
if [[ ! -f $deb ]]; then
  echo "install.sh: $deb does not exist; build it with \`cd build/release && cpack -G DEB\`" >&2
  exit 2
fi
deb=$(realpath "$deb")

sudo=""
[[ $(id -u) -eq 0 ]] || sudo=sudo
# apt-get rather than dpkg -i: it fetches the dependencies too.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$deb" >/dev/null
echo "Installed $(dpkg-query -W -f='${Package} ${Version}' ds): ds and dsd in /usr/bin,"
echo "user units in /usr/lib/systemd/user, man ds, man dsd, completions for bash, zsh, fish."
echo "Let systemd start dsd on first use, as your user (not root):"
echo "  systemctl --user enable --now dsd.socket"
