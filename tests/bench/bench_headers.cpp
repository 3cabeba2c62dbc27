// GGUF and safetensors header reads on large sparse files (sparse_fixtures.hpp): the header
// is real, the tensor data region is a hole, so a "100 GB" checkpoint costs no disk. The
// same header structure is written at 1 GB and at 100 GB; equal read times show that a read
// depends on the header, not on the file size. The page cache is warm after the first
// iteration, so this measures the parser and the system calls, not the disk. The files live
// in a temporary directory removed when the benchmark exits.
#include "sparse_fixtures.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/safetensors.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace {

using namespace vramcalc;
using vramcalc::bench::Written;
namespace fs = std::filesystem;

// Written on first use only, so a --benchmark_filter that skips these writes nothing.
struct Fixtures {
  test::TempDir dir;
  Written gguf[2];
  Written st[2]; // path: the index
  Fixtures()
      : gguf{bench::write_gguf(dir.file("small.gguf"), false), bench::write_gguf(dir.file("large.gguf"), true)},
        st{bench::write_safetensors_dir(dir.file("small"), false), bench::write_safetensors_dir(dir.file("large"), true)} {}
};

const Fixtures& fixtures() {
  static const Fixtures f;
  return f;
}

void counters(benchmark::State& state, const Written& f) {
  state.counters["file_GB"] = static_cast<double>(f.size) / 1e9;
  state.counters["header_MB"] = static_cast<double>(f.header) / 1e6;
}

// range(0): 0 for the 1 GB file, 1 for the 100 GB file.
void BM_GgufHeaderRead(benchmark::State& state) {
  const Written& f = fixtures().gguf[state.range(0)];
  for (auto _ : state) {
    auto g = io::read_gguf_file(f.path);
    if (!g) {
      state.SkipWithError(g.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(g);
  }
  counters(state, f);
}
BENCHMARK(BM_GgufHeaderRead)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// The index, then the 10 shards' headers.
void BM_SafetensorsIndexRead(benchmark::State& state) {
  const Written& f = fixtures().st[state.range(0)];
  for (auto _ : state) {
    auto set = io::read_safetensors_index(f.path);
    if (!set) {
      state.SkipWithError(set.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(set);
  }
  counters(state, f);
}
BENCHMARK(BM_SafetensorsIndexRead)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// What `vramcalc inspect` and `vramcalc FILE|DIR` read before estimating: the headers, the
// architecture (GGUF metadata, or the directory's config.json) and every tensor matched to
// the model's. range(0): 0 GGUF, 1 the safetensors directory; range(1): 1 GB or 100 GB.
void BM_OpenModelFiles(benchmark::State& state) {
  const Written& f = state.range(0) == 0 ? fixtures().gguf[state.range(1)] : fixtures().st[state.range(1)];
  const std::string path = state.range(0) == 0 ? f.path : fs::path(f.path).parent_path().string();
  for (auto _ : state) {
    auto m = io::open_model_files(path);
    if (!m) {
      state.SkipWithError(m.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(m);
  }
  counters(state, f);
}
BENCHMARK(BM_OpenModelFiles)
    ->ArgNames({"dir", "large"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond);

} // namespace
