// What the fuzz targets share: how a broken property is reported (the
// message lands in libFuzzer's log above the crash, docs/fuzzing.md "A
// finding"), the check that a parser fails only as its header documents, and
// the round trip through a target's own serialisation.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/strings.h"

namespace ds::fuzz {

// A string map as a JSON object, for writing parsed answers back out
// (Stripe metadata, Cognito pool tags).
inline std::string StringMapJson(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m)
    StrAppend(&out, out.size() > 1 ? "," : "", JsonQuote(k), ":", JsonQuote(v));
  return out + "}";
}

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

// Parses `json`, and when it parses (else: CheckError), checks that the
// value's serialisation by `write` parses back to the same serialisation.
template <typename T, typename Parse, typename Write>
void RoundTrip(std::string_view parser, std::string_view json, Parse parse, Write write) {
  absl::StatusOr<T> first = parse(json);
  CheckError(parser, first);
  if (!first.ok()) return;
  const std::string written = write(*first);
  absl::StatusOr<T> again = parse(written);
  if (!again.ok()) Fail(StrCat(parser, ": its own serialisation does not parse"), written);
  if (write(*again) != written) {
    Fail(StrCat(parser, ": a value changed on the way round"),
         StrCat(written, "\n  ", write(*again)));
  }
}

}  // namespace ds::fuzz
