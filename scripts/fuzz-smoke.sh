#!/usr/bin/env bash
# CI smoke run of the libFuzzer targets (tests/fuzz, docs/fuzzing.md):
# builds the `fuzz` preset (clang-14, build/fuzz) and runs each target for a
# fixed number of inputs from a fixed seed over its seed corpus, so that a
# run is repeatable: CI must not turn red by luck. Finding new inputs is the
# long local run's job (docs/fuzzing.md). The seeds are only read: new inputs go
# to a scratch corpus, crashes to $DS_FUZZ_ARTIFACTS (kept for the report).
#
# Environment:
#   DS_FUZZ_RUNS       inputs per target (default 8000: nine targets in about
#                      90 s on a loaded 2-core box; docs/fuzzing.md)
#   DS_FUZZ_SEED       libFuzzer's -seed (default 1)
#   DS_FUZZ_ARTIFACTS  where crash-*/leak-*/timeout-* files land
#                      (default build/fuzz/artifacts)
# Exits non-zero when the build fails or any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${DS_FUZZ_RUNS:-8000}
seed=${DS_FUZZ_SEED:-1}
artifacts=${DS_FUZZ_ARTIFACTS:-$PWD/build/fuzz/artifacts}
targets=(fuzz_dotenv fuzz_conninfo fuzz_drizzle_journal fuzz_neon_json fuzz_github fuzz_stripe
  fuzz_stripe_seed fuzz_cognito fuzz_aws_config)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "fuzz-smoke: $t, $runs inputs from seed $seed over tests/fuzz/$t"
  # -runs and -seed make the run repeatable; -timeout flags one input that
  # takes over 10 s (a hang), -rss_limit_mb one that balloons.
  if ! build/fuzz/bin/"$t" -runs="$runs" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
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
echo "fuzz-smoke: all ${#targets[@]} targets ran $runs inputs each without a finding"
