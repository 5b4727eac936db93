#!/usr/bin/env bash
# CI smoke run of the libFuzzer targets (tests/fuzz, docs/fuzzing.md):
# builds the `fuzz` preset (clang-14, build/fuzz) and runs each target for a
# bounded time over its seed corpus. The seeds are only read: new inputs go
# to a scratch corpus, crashes to $DS_FUZZ_ARTIFACTS (kept for the report).
#
# Environment:
#   DS_FUZZ_SECONDS    seconds per target (default 20)
#   DS_FUZZ_ARTIFACTS  where crash-*/leak-*/timeout-* files land
#                      (default build/fuzz/artifacts)
# Exits non-zero when the build fails or any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${DS_FUZZ_SECONDS:-20}
artifacts=${DS_FUZZ_ARTIFACTS:-$PWD/build/fuzz/artifacts}
targets=(fuzz_dotenv fuzz_conninfo fuzz_drizzle_journal fuzz_neon_json)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "fuzz-smoke: $t for ${seconds}s over tests/fuzz/$t"
  # -max_total_time bounds the run; -timeout flags one input that takes
  # over 10 s (a hang), -rss_limit_mb one that balloons.
  if ! build/fuzz/bin/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$scratch/$t" "tests/fuzz/$t" >"$scratch/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 60 "$scratch/$t.log"
  else
    grep -E '^stat::number_of_executed_units|^Done' "$scratch/$t.log" || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzz-smoke: FAILED: ${failed[*]}; the inputs are in $artifacts (docs/fuzzing.md says" \
       "how to reproduce and add them to the corpus)" >&2
  exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} targets ran ${seconds}s without a finding"
