#include "client/picker.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "client/output.h"
#include "common/strings.h"

namespace ds::client {
namespace {

constexpr size_t kVisibleRows = 10;

// The terminal in raw mode for the life of the object.
class RawTerminal {
 public:
  RawTerminal() {
    fd_ = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd_ < 0 || ::tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO | ISIG);
    raw.c_iflag &= ~(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ok_ = ::tcsetattr(fd_, TCSAFLUSH, &raw) == 0;
  }
  ~RawTerminal() {
    if (ok_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  void Write(std::string_view s) const {
    while (!s.empty()) {
      ssize_t n = ::write(fd_, s.data(), s.size());
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  }
  // One key: a byte, or an escape sequence as one string.
  std::string ReadKey() const {
    char c;
    if (::read(fd_, &c, 1) != 1) return "\x03";  // treat EOF as abort
    if (c != '\x1b') return std::string(1, c);
    // An arrow key arrives as ESC [ A at once; a lone ESC has nothing after.
    termios t;
    ::tcgetattr(fd_, &t);
    termios quick = t;
    quick.c_cc[VMIN] = 0;
    quick.c_cc[VTIME] = 1;  // 100 ms
    ::tcsetattr(fd_, TCSANOW, &quick);
    std::string seq = "\x1b";
    char more[8];
    ssize_t n = ::read(fd_, more, sizeof more);
    if (n > 0) seq.append(more, static_cast<size_t>(n));
    ::tcsetattr(fd_, TCSANOW, &t);
    return seq;
  }

 private:
  int fd_ = -1;
  termios saved_{};
  bool ok_ = false;
};

bool Matches(const PickerItem& item, const std::string& filter) {
  if (filter.empty()) return true;
  std::string hay = AsciiToLower(item.label + " " + item.detail);
  return hay.find(AsciiToLower(filter)) != std::string::npos;
}

}  // namespace

bool Interactive() { return ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO); }

std::optional<size_t> Pick(const std::string& title, const std::vector<PickerItem>& items,
                           size_t initial) {
  RawTerminal term;
  if (!term.ok() || items.empty()) return std::nullopt;
  std::string filter;
  size_t cursor = 0;  // index into `shown`
  std::vector<size_t> shown;
  size_t drawn_lines = 0;
  bool first = true;
  for (;;) {
    shown.clear();
    for (size_t i = 0; i < items.size(); ++i) {
      if (Matches(items[i], filter)) shown.push_back(i);
    }
    if (first) {
      auto it = std::find(shown.begin(), shown.end(), initial);
      cursor = it == shown.end() ? 0 : static_cast<size_t>(it - shown.begin());
      first = false;
    }
    if (cursor >= shown.size()) cursor = shown.empty() ? 0 : shown.size() - 1;
    // Redraw in place: move up over the previous frame and clear it.
    std::string frame;
    if (drawn_lines) StrAppend(&frame, "\x1b[", drawn_lines, "A");
    StrAppend(&frame, "\r\x1b[J", Bold(title), "  ", Dim("(type to filter, ↑/↓, Enter, Esc)"),
              "\r\n> ", filter, "\r\n");
    size_t top = cursor >= kVisibleRows ? cursor - kVisibleRows + 1 : 0;
    size_t lines = 2;
    for (size_t row = top; row < shown.size() && row < top + kVisibleRows; ++row) {
      const PickerItem& item = items[shown[row]];
      StrAppend(&frame, row == cursor ? "\x1b[7m> " : "  ", item.label,
                row == cursor ? "\x1b[0m" : "", "  ", Dim(item.detail), "\r\n");
      ++lines;
    }
    if (shown.empty()) {
      StrAppend(&frame, Dim("  (no match)"), "\r\n");
      ++lines;
    }
    drawn_lines = lines;
    term.Write(frame);

    std::string key = term.ReadKey();
    if (key == "\x1b" || key == "\x03") {  // Esc, Ctrl-C
      term.Write("\r\x1b[J");
      return std::nullopt;
    }
    if (key == "\r" || key == "\n") {
      if (shown.empty()) continue;
      term.Write("\r\x1b[J");
      return shown[cursor];
    }
    if (key == "\x1b[A" || key == "\x1bOA") {
      if (cursor > 0) --cursor;
    } else if (key == "\x1b[B" || key == "\x1bOB") {
      if (cursor + 1 < shown.size()) ++cursor;
    } else if (key == "\x7f" || key == "\b") {
      if (!filter.empty()) filter.pop_back();
      cursor = 0;
    } else if (key.size() == 1 && std::isprint(static_cast<unsigned char>(key[0]))) {
      filter += key;
      cursor = 0;
    }
  }
}

bool Confirm(const std::string& question) {
  std::optional<std::string> answer = Prompt(question + " [y/N] ");
  if (!answer) return false;
  std::string a = AsciiToLower(TrimAsciiWhitespace(*answer));
  return a == "y" || a == "yes";
}

std::optional<std::string> Prompt(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  (void)::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n') {
      ::close(fd);
      return line;
    }
    line.push_back(c);
  }
  ::close(fd);
  return std::nullopt;
}

}  // namespace ds::client
