// What the fuzz targets share: how a broken property is reported (the
// message lands in libFuzzer's log above the crash, docs/fuzzing.md "A
// finding") and the check that a parser fails only as its header documents.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/strings.h"

namespace ds::fuzz {

// Prints what property broke and on what, then aborts: libFuzzer saves the
// input as a crash.
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail) {
  fprintf(stderr, "property broken: %.*s\n  %.*s\n", static_cast<int>(what.size()), what.data(),
          static_cast<int>(detail.size()), detail.data());
  abort();
}

// The external services' body parsers say they fail only with kDataLoss
// (the answer is not what the service documents).
template <typename T>
void CheckError(std::string_view parser, const absl::StatusOr<T>& result) {
  if (!result.ok() && result.status().code() != absl::StatusCode::kDataLoss) {
    Fail(StrCat(parser, " failed with a code other than kDataLoss"), result.status().ToString());
  }
}

}  // namespace ds::fuzz
