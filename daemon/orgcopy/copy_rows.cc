#include "daemon/orgcopy/copy_rows.h"

#include "absl/strings/str_cat.h"

namespace ds::daemon::orgcopy {

absl::StatusOr<CopiedRows> CopyRows(PgConnection& source, const std::string& select_sql,
                                    PgConnection& target, const std::string& copy_in_sql) {
  if (absl::Status s = target.BeginCopyIn(copy_in_sql); !s.ok()) return s;
  CopiedRows copied;
  absl::StatusOr<int64_t> sent = source.CopyOut(
      absl::StrCat("COPY (", select_sql, ") TO STDOUT"), [&](std::string_view chunk) {
        copied.bytes += static_cast<int64_t>(chunk.size());
        return target.PutCopyData(chunk);
      });
  if (!sent.ok()) {
    (void)target.EndCopyIn("the source of this COPY failed");
    return sent.status();
  }
  absl::StatusOr<int64_t> stored = target.EndCopyIn();
  if (!stored.ok()) return stored.status();
  copied.rows = *stored;
  return copied;
}

}  // namespace ds::daemon::orgcopy
