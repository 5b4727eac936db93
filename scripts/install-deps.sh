#!/usr/bin/env bash
# Installs every Debian 12 package ds needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt; safe to run again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # the libFuzzer targets (tests/fuzz, the `fuzz` preset): clang, its
  # runtime (libclang_rt.fuzzer, asan, ubsan) and llvm-symbolizer for traces
  clang-14 libclang-rt-14-dev llvm-14
  # libraries named on the design card
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpq-dev libcurl4-openssl-dev libsimdjson-dev libabsl-dev
  libcli11-dev libtomlplusplus-dev libssl-dev libgtest-dev libgmock-dev
  # PostgreSQL 15 server for the embedded provider and the tests
  postgresql-15 postgresql-client-15
  # test and bench helpers: node for the npm peers, util-linux for setpriv/script,
  # hyperfine for timing whole commands
  nodejs npm util-linux procps hyperfine
  # the Neon API double serves TLS with a throwaway certificate
  openssl python3
  # the completion scripts are checked in each shell; the .deb is built with
  # dpkg-shlibdeps (dpkg-dev) and checked with lintian; man renders ds(1)
  zsh fish dpkg-dev lintian man-db groff-base
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm may come from outside Debian (an image's own install): accept them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
