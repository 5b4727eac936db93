# Shared by the bench scripts (sourced, not run).

# Sets as_user (a command prefix), run_uid and run_gid: as root, everything
# runs as the unprivileged user $1 (initdb refuses root and dsd serves only
# its owner), from copies of the binaries that user can read, like the tests.
choose_run_user() {
  local user=$1
  as_user=()
  run_uid=$(id -u)
  run_gid=$(id -g)
  if [[ $(id -u) -eq 0 ]]; then
    "$(dirname "${BASH_SOURCE[0]}")/../scripts/ensure-test-user.sh" "$user"
    as_user=(setpriv "--reuid=$user" "--regid=$user" --init-groups --)
    run_uid=$(id -u "$user")
    run_gid=$(id -g "$user")
  fi
}

# mkpriv DIR MODE: a directory owned by the run user (after choose_run_user).
mkpriv() {
  mkdir -p "$1"
  chmod "$2" "$1"
  chown "$run_uid:$run_gid" "$1"
}

# Runs the script's cleanup() on every exit, Ctrl-C and SIGTERM included.
install_cleanup_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
