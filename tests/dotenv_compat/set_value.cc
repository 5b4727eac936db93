// dotenv_set_value FILE KEY VALUE: sets one key with
// ds::common::WriteDotenvValue, as `ds` does when it points an app at a
// branch. Exits 1 with the message on error; compat.mjs checks the result
// with the npm dotenv package.
#include <iostream>

#include "common/dotenv.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: dotenv_set_value FILE KEY VALUE\n";
    return 2;
  }
  absl::Status status = ds::common::WriteDotenvValue(argv[1], argv[2], argv[3]);
  if (!status.ok()) {
    std::cerr << status.message() << "\n";
    return 1;
  }
  return 0;
}
