// Locks by branch name for the local provider's writes. A create holds its
// new name exclusively and its parent shared; a delete or reset holds its
// branch exclusively (a reset also its parent, shared). So two creates from
// different parents, or from the same parent, run at once, while a create
// and a delete of the same name, or the delete of a parent that is being
// copied, take turns.
//
// Lock() takes every name it is given at once or none (it waits with none
// held), so two callers can never each hold what the other waits for.
#ifndef DS_DAEMON_PROVIDERS_LOCAL_NAME_LOCKS_H_
#define DS_DAEMON_PROVIDERS_LOCAL_NAME_LOCKS_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ds::daemon {

class NameLocks {
 public:
  // Releases its names when it goes out of scope.
  class Held {
   public:
    Held(Held&& other) noexcept;
    Held& operator=(Held&&) = delete;
    Held(const Held&) = delete;
    ~Held();

   private:
    friend class NameLocks;
    Held(NameLocks* owner, std::vector<std::string> exclusive, std::vector<std::string> shared)
        : owner_(owner), exclusive_(std::move(exclusive)), shared_(std::move(shared)) {}
    NameLocks* owner_;
    std::vector<std::string> exclusive_;
    std::vector<std::string> shared_;
  };

  // Waits until no one holds a name of `exclusive` and no one holds a name
  // of `shared` exclusively, then holds them all. A name in both lists is
  // held exclusively; duplicates count once.
  Held Lock(std::vector<std::string> exclusive, std::vector<std::string> shared);

  // How many Lock() calls are waiting right now (for tests).
  int waiting() const;

 private:
  struct State {
    int shared = 0;
    bool exclusive = false;
  };
  bool Free(const std::vector<std::string>& exclusive,
            const std::vector<std::string>& shared) const;
  void Release(const std::vector<std::string>& exclusive, const std::vector<std::string>& shared);

  mutable std::mutex mu_;
  std::condition_variable released_;
  std::map<std::string, State> held_;  // only names someone holds
  int waiting_ = 0;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_LOCAL_NAME_LOCKS_H_
