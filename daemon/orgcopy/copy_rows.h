// Moves rows between two servers by COPY passthrough: the source's COPY
// ... TO STDOUT bytes go, unparsed, into the target's COPY ... FROM STDIN.
#ifndef DS_DAEMON_ORGCOPY_COPY_ROWS_H_
#define DS_DAEMON_ORGCOPY_COPY_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon::orgcopy {

struct CopiedRows {
  int64_t rows = 0;
  int64_t bytes = 0;
};

// `select_sql` (a SELECT) copied out of `source` into `copy_in_sql` (COPY
// ... FROM STDIN) of `target`, text format. All or nothing on the target,
// as CopyBetween.
absl::StatusOr<CopiedRows> CopyRows(PgConnection& source, const std::string& select_sql,
                                    PgConnection& target, const std::string& copy_in_sql);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_COPY_ROWS_H_
