#include "daemon/orgcopy/row_id_arrays.h"

#include <algorithm>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace ds::daemon::orgcopy {
namespace {

// The element type oid of tid[] (pg_type.h), which array_recv checks.
constexpr uint32_t kTidType = 27;
// Bytes of the header below, and of an element: its length, then the tid
// (block, offset).
constexpr size_t kHeaderSize = 20;
constexpr size_t kElementSize = 10;

void PutUint32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}
void PutUint16(std::string& out, uint16_t v) {
  const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 2);
}

// A one-dimensional tid[] without NULLs, lower bound 1, of `count`
// elements; they are appended after it.
void PutHeader(std::string& out, int64_t count) {
  PutUint32(out, 1);  // dimensions
  PutUint32(out, 0);  // flags: no NULLs
  PutUint32(out, kTidType);
  PutUint32(out, static_cast<uint32_t>(count));
  PutUint32(out, 1);  // lower bound
}

// Reads an unsigned decimal that ends at `end_char` from text[pos...];
// advances pos past end_char.
bool ReadNumber(std::string_view text, size_t& pos, char end_char, uint64_t max, uint64_t& value) {
  const char* first = text.data() + pos;
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr == first || ptr == last || *ptr != end_char || value > max) {
    return false;
  }
  pos = static_cast<size_t>(ptr - text.data()) + 1;
  return true;
}

}  // namespace

absl::StatusOr<std::vector<RowIdArray>> RowIdArraysFromCopyText(std::string_view copy_text,
                                                                bool by_partition,
                                                                int64_t max_per_array) {
  std::vector<RowIdArray> out;
  // partition -> the out[] index of its array being filled
  absl::flat_hash_map<uint32_t, size_t> filling;
  auto start_array = [&](uint32_t partition, int part, int64_t expected) {
    filling[partition] = out.size();
    out.push_back({partition, part, 0, std::string(kHeaderSize, '\0')});
    out.back().tids.reserve(kHeaderSize + kElementSize * expected);
  };
  // Without partitions the rows tell how big each array gets, so each is
  // sized once.
  int64_t rows = 0, seen = 0;
  if (!by_partition) {
    for (char c : copy_text) rows += c == '\n';
    start_array(0, 0, std::min(rows, max_per_array));
  }
  size_t pos = 0;
  while (pos < copy_text.size()) {
    const size_t row_start = pos;
    uint64_t partition = 0, block = 0, offset = 0;
    bool ok = true;
    if (by_partition) ok = ReadNumber(copy_text, pos, '\t', UINT32_MAX, partition);
    ok = ok && pos < copy_text.size() && copy_text[pos++] == '(' &&
         ReadNumber(copy_text, pos, ',', UINT32_MAX, block) &&
         ReadNumber(copy_text, pos, ')', UINT16_MAX, offset) && pos < copy_text.size() &&
         copy_text[pos++] == '\n';
    if (!ok) {
      const size_t eol = copy_text.find('\n', row_start);
      const std::string row(copy_text.substr(
          row_start, eol == std::string_view::npos ? std::string_view::npos : eol - row_start));
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected row id from the source: \"", row, "\""));
    }
    const uint32_t key = static_cast<uint32_t>(partition);
    auto it = filling.find(key);
    if (it == filling.end()) {
      start_array(key, 0, 1024);
    } else if (out[it->second].count == max_per_array) {
      start_array(key, out[it->second].part + 1,
                  by_partition ? 1024 : std::min(rows - seen, max_per_array));
    }
    ++seen;
    RowIdArray& array = out[filling[key]];
    ++array.count;
    PutUint32(array.tids, 6);
    PutUint32(array.tids, static_cast<uint32_t>(block));
    PutUint16(array.tids, static_cast<uint16_t>(offset));
  }
  // The headers, now that each array's length is known.
  for (RowIdArray& array : out) {
    std::string header;
    PutHeader(header, array.count);
    array.tids.replace(0, kHeaderSize, header);
  }
  return out;
}

}  // namespace ds::daemon::orgcopy
