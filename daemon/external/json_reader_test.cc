#include "daemon/external/json_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ds::daemon::external {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::optional<int64_t>> IntOf(std::string_view json) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, "test");
  EXPECT_TRUE(doc.ok()) << doc.status();
  return OptInt(doc->root(), "n");
}

TEST(JsonReaderTest, WholeNumbersAndFloatsReadAsInt) {
  EXPECT_EQ(*IntOf(R"({"n":42})"), 42);
  EXPECT_EQ(*IntOf(R"({"n":1.7e9})"), 1700000000) << "AWS sends timestamps as floats";
  EXPECT_EQ(*IntOf(R"({"n":-2.9})"), -2) << "the fraction is cut";
  EXPECT_EQ(*IntOf(R"({"n":null})"), std::nullopt);
  EXPECT_EQ(*IntOf(R"({})"), std::nullopt);
  EXPECT_THAT(IntOf(R"({"n":"1"})").status().message(), HasSubstr("'n' is not a number"));
}

// fuzz_stripe's finding (tests/fuzz/fuzz_stripe/ubsan_unit_amount_1e300):
// a float beyond int64 was converted as it was, which is undefined.
TEST(JsonReaderTest, NumbersBeyondInt64AreErrors) {
  for (const char* n :
       {"1e300", "-1e300", "9223372036854775808", "18446744073709551615", "9.3e18"}) {
    absl::StatusOr<std::optional<int64_t>> v = IntOf(std::string("{\"n\":") + n + "}");
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(v.status().message(), HasSubstr("'n' is out of range")) << n;
  }
  EXPECT_EQ(*IntOf(R"({"n":-9223372036854775808})"), INT64_MIN);
  EXPECT_EQ(*IntOf(R"({"n":-9.2e18})"), -9200000000000000000);
}

}  // namespace
}  // namespace ds::daemon::external
