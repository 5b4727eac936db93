#!/usr/bin/env bash
# What a team scripts without ds: every branch of every project the key
# sees, with neonctl (NEONCTL, else neonctl on PATH; NEON_API_KEY and
# NEON_API_HOST from the environment). Prints one line per project
# ("<project id> <branches>") and, last, the total number of branches.
set -euo pipefail
neonctl=${NEONCTL:-neonctl}
projects=$("$neonctl" projects list -o json --no-analytics |
  jq -r 'if type == "array" then .[] else (.projects // [])[] end | .id')
total=0
for p in $projects; do
  n=$("$neonctl" branches list --project-id "$p" -o json --no-analytics | jq 'length')
  echo "$p $n"
  total=$((total + n))
done
echo "$total"
