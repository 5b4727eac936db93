// The .env parser and editor. Input: one byte picking the key, a value, and
// the file text (FuzzedDataProvider splits them). Properties:
//   - parsing never crashes, whatever the bytes;
//   - SetDotenvValue fails exactly when it must: a file that does not parse,
//     or a key or value it refuses; it may also refuse an edit it cannot make
//     without disturbing a neighbour, but
//   - when it succeeds, the new text parses, every other key reads exactly as
//     before, and the edited key reads back the value written.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "common/dotenv.h"

namespace {

using ds::common::DotenvEntry;
using ds::common::ParseDotenv;
using ds::common::SetDotenvValue;

// What dotenv's caller sees: the last assignment of each key wins.
std::map<std::string, std::string> Effective(const std::vector<DotenvEntry>& entries) {
  std::map<std::string, std::string> out;
  for (const DotenvEntry& e : entries) out[e.key] = e.value;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t key_choice = in.ConsumeIntegral<uint8_t>();
  const std::string value = in.ConsumeRandomLengthString(64);
  const std::string new_key = in.ConsumeRandomLengthString(16);
  const std::string text = in.ConsumeRemainingBytesAsString();

  auto before = ParseDotenv(text, ".env");
  // Edit a key the file has (most inputs), or a new or invalid one.
  std::string key = new_key;
  if (before.ok() && !before->empty() && key_choice < 192) {
    key = (*before)[key_choice % before->size()].key;
  }
  auto edited = SetDotenvValue(text, key, value, ".env");
  if (!before.ok()) {
    if (edited.ok()) abort();  // an edit of a file that does not parse
    return 0;
  }
  if (!edited.ok()) return 0;
  auto after = ParseDotenv(*edited, ".env");
  if (!after.ok()) abort();
  std::map<std::string, std::string> want = Effective(*before);
  want[key] = value;
  if (Effective(*after) != want) abort();
  return 0;
}
