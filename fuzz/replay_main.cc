// Without libFuzzer, each fuzz target is built as a replay program: it runs
// every file named on the command line (or found in a named directory)
// through the target once. Used to keep the targets building and to replay
// corpora and crashes in ordinary builds.

// On 32-bit targets readdir and stat fail with EOVERFLOW on file systems with
// 64-bit inode numbers unless the 64-bit file interfaces are selected.
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

int run_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  int runs = 0, errors = 0;
  for (int k = 1; k < argc; ++k) {
    struct stat st;
    if (stat(argv[k], &st) != 0) {
      std::fprintf(stderr, "no such file: %s\n", argv[k]);
      ++errors;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR *dir = opendir(argv[k]);
      while (dirent *e = dir ? readdir(dir) : nullptr) {
        if (e->d_name[0] == '.') continue;
        errors += run_file(std::string(argv[k]) + "/" + e->d_name);
        ++runs;
      }
      if (dir) closedir(dir);
    } else {
      errors += run_file(argv[k]);
      ++runs;
    }
  }
  std::printf("replayed %d inputs, %d unreadable\n", runs, errors);
  return errors == 0 && runs > 0 ? 0 : 1;
}
