#include "daemon/audit/naming.h"

#include <cctype>
#include <optional>
#include <vector>

namespace ds::daemon::audit {
namespace {

struct Piece {
  bool placeholder = false;
  std::string text;  // the literal, or "developer" / "stage"
};

std::vector<Piece> Split(std::string_view pattern) {
  std::vector<Piece> out;
  std::string literal;
  for (size_t i = 0; i < pattern.size();) {
    bool matched = false;
    for (std::string_view name : {"developer", "stage"}) {
      const std::string token = "{" + std::string(name) + "}";
      if (pattern.substr(i).starts_with(token)) {
        if (!literal.empty()) out.push_back({false, std::move(literal)});
        literal.clear();
        out.push_back({true, std::string(name)});
        i += token.size();
        matched = true;
        break;
      }
    }
    if (!matched) literal += pattern[i++];
  }
  if (!literal.empty()) out.push_back({false, std::move(literal)});
  return out;
}

struct Bindings {
  std::optional<std::string> developer, stage;
  std::optional<std::string>& operator[](const std::string& name) {
    return name == "developer" ? developer : stage;
  }
};

// Backtracking match; each placeholder takes the shortest non-empty part
// that lets the rest match, and a placeholder seen twice must repeat.
bool Match(const std::vector<Piece>& pieces, size_t p, std::string_view rest, Bindings& b) {
  if (p == pieces.size()) return rest.empty();
  const Piece& piece = pieces[p];
  if (!piece.placeholder) {
    return rest.starts_with(piece.text) && Match(pieces, p + 1, rest.substr(piece.text.size()), b);
  }
  std::optional<std::string>& bound = b[piece.text];
  if (bound) {
    return rest.starts_with(*bound) && Match(pieces, p + 1, rest.substr(bound->size()), b);
  }
  for (size_t len = 1; len <= rest.size(); ++len) {
    bound = std::string(rest.substr(0, len));
    if (Match(pieces, p + 1, rest.substr(len), b)) return true;
  }
  bound.reset();
  return false;
}

// "pr-42" -> 42; 0 when `stage` is not that shape.
int PullRequestNumber(std::string_view stage) {
  if (!stage.starts_with("pr-") || stage.size() == 3 || stage.size() > 12) return 0;
  int n = 0;
  for (char c : stage.substr(3)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

const char* BranchKindName(BranchKind kind) {
  switch (kind) {
    case BranchKind::kDefault: return "default";
    case BranchKind::kLocal: return "local";
    case BranchKind::kCloud: return "cloud";
    case BranchKind::kCi: return "ci";
    case BranchKind::kOther: return "other";
  }
  return "other";
}

ParsedName ParseBranchName(std::string_view pattern, std::string_view name, bool is_default) {
  ParsedName out;
  if (is_default || name == "main") {
    out.kind = BranchKind::kDefault;
    return out;
  }
  Bindings b;
  if (!Match(Split(pattern), 0, name, b)) return out;
  out.owner = b.developer.value_or("");
  out.stage = b.stage.value_or("");
  if (out.owner == "ci" && (out.pr = PullRequestNumber(out.stage)) > 0) {
    out.kind = BranchKind::kCi;
  } else if (out.stage == "local") {
    out.kind = BranchKind::kLocal;
  } else if (!out.stage.empty()) {
    out.kind = BranchKind::kCloud;
  } else {
    out.kind = BranchKind::kOther;  // a pattern without {stage}
  }
  return out;
}

std::string GitBranchSlug(std::string_view git_branch) {
  std::string out;
  bool dash = false;
  for (unsigned char c : git_branch) {
    if (std::isalnum(c)) {
      if (dash && !out.empty()) out += '-';
      dash = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      dash = true;
    }
  }
  return out;
}

}  // namespace ds::daemon::audit
