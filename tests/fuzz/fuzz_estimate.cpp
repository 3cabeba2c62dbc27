// The whole pipeline on a fuzzed model spec: parse it, then estimate() with a few settings
// (the whole GPU catalog; an odd tensor/pipeline split with a huge context and batch; the
// vLLM engine). estimate() may refuse (OverflowError becomes an error) but never crashes,
// and what it reports adds up; the sweeps' shared preparations and reused fit checker give
// the same answers as the one-off ones.
#include "fuzz_util.hpp"

#include "vramcalc/estimate.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/units.hpp"

#include <string>
#include <vector>

namespace {

using namespace vramcalc;
using fuzz::check;

const io::Catalog& catalog() {
  static const io::Catalog c = [] {
    auto loaded = io::load_builtin_catalog();
    check(loaded.has_value(), "the built-in catalog loads");
    return std::move(*loaded);
  }();
  return c;
}

WeightFormat listed(std::size_t i, Dtype native) {
  const auto names = listed_weight_formats();
  auto f = parse_weight_format(names[i % names.size()], native);
  check(f.has_value(), "every listed format parses");
  return std::move(*f);
}

void run(const ModelSpec& spec, const Settings& s) {
  const auto r = estimate(spec, s, catalog().gpus);
  if (!r) {
    check(!r.error().message.empty(), "a refused estimate says why");
    return;
  }
  const MemorySummary& m = r->memory;
  check(m.total_bytes == m.weights_bytes + m.kv_cache_bytes + m.state_bytes + m.overhead_bytes,
        "the total is weights + KV + state + overhead");
  check(r->fit.size() == (s.gpus.empty() ? catalog().gpus.size() : s.gpus.size()),
        "one fit row per GPU asked (the whole catalog when none)");
}

// What sweeps use — the weights prepared from what a model's formats share, and one
// FitChecker kept from input to input — gives the one-off answers.
void run_shared(const ModelSpec& spec, Settings s) {
  static FitChecker checker(catalog().gpus);
  const auto shared = PreparedModel::make(spec);
  const auto one_off = PreparedWeights::make(spec, s.weights);
  if (!shared) {
    check(!one_off, "a model whose counts overflow cannot be prepared either way");
    return;
  }
  const auto prepared = PreparedWeights::make(*shared, s.weights);
  check(prepared.has_value() == one_off.has_value(), "both preparations succeed or fail alike");
  if (!prepared) return;
  check(prepared->params().total == one_off->params().total, "the same parameter count either way");
  check(prepared->weights().total == one_off->weights().total, "the same weights either way");
  check(prepared->file_bytes() == one_off->file_bytes(), "the same file size either way");
  s.gpus.clear();
  const auto reused = checker.check(s, *prepared);
  const auto fresh = fit_check(s, catalog().gpus, *one_off);
  check(reused.has_value() == fresh.has_value(), "the reused checker fails when a fresh check does");
  if (!reused) return;
  check(reused->size() == fresh->size(), "the same rows from a reused checker");
  for (std::size_t i = 0; i < fresh->size(); ++i) {
    const GpuFit& a = (*reused)[i];
    const GpuFit& b = (*fresh)[i];
    check(a.gpu == b.gpu && a.min_count == b.min_count && a.count == b.count &&
              a.required_bytes_per_gpu == b.required_bytes_per_gpu && a.fits == b.fits,
          "the same rows from a reused checker");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = io::parse_model_spec(fuzz::as_text(data, size), "fuzz.json");
  if (!parsed) return 0;
  const ModelSpec& spec = *parsed;
  if (spec.num_layers > fuzz::max_estimated_layers) return 0; // see fuzz_util.hpp
  const auto& gpus = catalog().gpus;

  // As `vramcalc MODEL` runs it: native format and KV dtype, the model's context.
  Settings typical;
  const std::string native = spec.weights_format.value_or(std::string(traits(spec.dtype).name));
  const auto format = parse_weight_format(native, spec.dtype);
  if (format) {
    typical.weights = *format;
    typical.kv_dtype = traits(spec.dtype).kv_allowed ? spec.dtype : Dtype::f16;
    typical.context_tokens = spec.max_context;
    run(spec, typical);
    run_shared(spec, typical);
  }

  // A format picked by the input, the longest context, a batch of 1 to 2^20 (the larger ones
  // overflow, the smaller reach the fit check), a fixed odd layout.
  Settings extreme;
  extreme.weights = listed(size, spec.dtype);
  extreme.kv_dtype = Dtype::q4_0;
  extreme.context_tokens = max_context_tokens;
  extreme.batch = std::uint64_t{1} << (size % 21);
  extreme.parallel = Parallel{8, 3, true};
  extreme.kv_policy = {.kind = KvPolicy::Kind::streaming, .sinks = 4, .window = 4096};
  extreme.gpus.push_back({gpus.front(), 0});
  extreme.gpus.push_back({gpus.back(), 24});
  run(spec, extreme);

  // The vLLM engine on one GPU with an H2O policy.
  Settings vllm;
  vllm.weights = listed(size / 7, spec.dtype);
  vllm.kv_dtype = Dtype::f8_e4m3;
  vllm.context_tokens = 8192;
  vllm.batch = 4;
  vllm.engine = EngineKind::vllm;
  vllm.kv_policy = {.kind = KvPolicy::Kind::h2o, .ratio_bp = 2000};
  vllm.gpus.push_back({gpus[gpus.size() / 2], 1});
  run(spec, vllm);
  return 0;
}
