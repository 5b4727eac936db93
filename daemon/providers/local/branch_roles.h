// Every local branch has a login role of its own, so that the password in a
// workspace's .env reaches that branch and nothing else:
//
//   - dsd's superuser owns every branch database; only dsd creates, drops,
//     renames or copies one. A branch role cannot drop any database, not
//     even its own, and has no CREATEDB, CREATEROLE or superuser.
//   - The branch role owns the objects inside its database, public
//     included, and holds CONNECT, CREATE and TEMPORARY on it. PUBLIC holds
//     nothing on a branch database, so no other branch's role can connect.
//   - Its password is random, made by dsd, kept in a 0600 file of a 0700
//     directory (RolePasswords), and given to PostgreSQL as a SCRAM
//     verifier so that it never appears in SQL text.
//
// A template copy carries the parent's objects, owned by the parent's role;
// HandOverDatabase gives them to the new branch's role.
#ifndef DS_DAEMON_PROVIDERS_LOCAL_BRANCH_ROLES_H_
#define DS_DAEMON_PROVIDERS_LOCAL_BRANCH_ROLES_H_

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

// The role of a branch: "ds_", the branch name in lowercase with each run
// of bytes outside [a-z0-9] made one "_" (at most 32 bytes of it), "_", and
// the [a-z0-9] characters of the branch id after its "br-" (at most 20).
// Unique because ids are; at most 56 bytes (PostgreSQL allows 63); and
// made only of characters that a URI's user part and an unquoted
// identifier take as they are. Derived, not stored first, so an upgrade
// interrupted half-way derives the same names again.
std::string RoleNameForBranch(std::string_view branch_name, std::string_view branch_id);

// Branch role passwords, one file per role in `dir` (0700; files 0600).
// Thread-safe; a password read once is kept in memory.
class RolePasswords {
 public:
  explicit RolePasswords(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // The role's password, made and stored first if it has none.
  absl::StatusOr<std::string> GetOrCreate(const std::string& role);
  // The role's password; NotFound when it has none.
  absl::StatusOr<std::string> Get(const std::string& role);
  // Forgets the role's password (its role was dropped).
  void Remove(const std::string& role);

 private:
  absl::StatusOr<std::string> LoadLocked(const std::string& role);  // mu_ held

  std::filesystem::path dir_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> cache_;
};

// On a superuser connection: creates `role` (LOGIN, nothing else) with
// `password`, or sets that password on the existing role, so the stored
// password and the server always agree.
absl::Status EnsureLoginRole(PgConnection& admin, const std::string& role,
                             const std::string& password);

// On a superuser connection to `database` itself, in one transaction: the
// objects `from_role` owns there pass to `to_role` (none when `from_role`
// is empty), public passes to `to_role`, the database is owned by the
// connected superuser, and only `to_role` may connect. Idempotent.
absl::Status HandOverDatabase(PgConnection& in_database, const std::string& from_role,
                              const std::string& to_role);

// On a superuser connection to any database but the branch's: drops the
// role of a deleted branch. When something still depends on it, it cannot
// log in afterwards either (NOLOGIN, no password) and the returned notice
// says what is left; else the notice is "".
absl::StatusOr<std::string> DropBranchRole(PgConnection& admin, const std::string& role);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_LOCAL_BRANCH_ROLES_H_
