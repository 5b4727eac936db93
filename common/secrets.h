// Masking secrets in free text. Kept apart from conninfo.h (which parses with
// libpq) so that the logger, which both binaries link, never drags libpq into
// ds: scrubbing is plain text work.
#ifndef DS_COMMON_SECRETS_H_
#define DS_COMMON_SECRETS_H_

#include <string>
#include <string_view>

namespace ds::common {

// What every masked secret is shown as.
inline constexpr std::string_view kMask = "****";

// Masks secrets in free text: the password part of `scheme://user:pass@`,
// `password=...` key/value pairs, SQL's PASSWORD 'literal', API keys known
// by their prefix (Neon napi_, Stripe sk_/rk_, GitHub ghp_/github_pat_ ...)
// and `Bearer <token>`. Used by the logger on every line and by
// job records on every text they keep.
std::string ScrubSecrets(std::string_view text);

}  // namespace ds::common

#endif  // DS_COMMON_SECRETS_H_
