// vramcalc_bench_files DIR: writes the header benchmarks' sparse checkpoints into DIR, for
// measuring the whole `vramcalc` process on them (tests/bench/process.sh):
//   DIR/small.gguf   DIR/large.gguf       one GGUF file each, 1 GB and 100 GB
//   DIR/small/       DIR/large/           10 safetensors shards, the index, a config.json
// The tensor data are holes: the four take about 16 MB of disk. DIR is created if missing;
// removing it is the caller's job.
#include "sparse_fixtures.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: vramcalc_bench_files DIR\n");
    return 2;
  }
  try {
    namespace fs = std::filesystem;
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    using namespace vramcalc::bench;
    const Written all[] = {write_gguf(dir / "small.gguf", false), write_gguf(dir / "large.gguf", true),
                           write_safetensors_dir(dir / "small", false), write_safetensors_dir(dir / "large", true)};
    for (const Written& w : all) {
      std::printf("%s: %.3f GB of file, %.3f MB of header\n", fs::relative(w.path, dir).c_str(),
                  static_cast<double>(w.size) / 1e9, static_cast<double>(w.header) / 1e6);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vramcalc_bench_files: %s\n", e.what());
    return 1;
  }
}
