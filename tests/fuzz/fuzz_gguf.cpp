// io::parse_gguf over a memory source, then io::gguf_to_spec on what parsed, then an
// estimate on the spec that came out (a GGUF file is as untrusted as its metadata).
#include "fuzz_util.hpp"

#include "vramcalc/estimate.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vramcalc;
  using fuzz::check;
  const std::string_view bytes = fuzz::as_text(data, size);
  const auto file = io::parse_gguf(io::memory_source(bytes), "fuzz.gguf");
  if (!file) {
    check(!file.error().message.empty(), "a refused file says why");
    return 0;
  }
  check(file->header_bytes <= size, "the header lies inside the file");
  for (const auto& t : file->tensors) {
    check(t.bytes <= size && file->data_offset + t.offset <= size - t.bytes, "a tensor lies inside the file");
  }
  // The key index finds every key, and only the keys there are.
  for (const auto& kv : file->metadata) check(file->find(kv.key) == &kv.value, "find() returns each key's value");
  check(file->find("") == nullptr, "no key is empty");
  // Keeping the string arrays reads the same header to the same tensors.
  const auto kept = io::parse_gguf(io::memory_source(bytes), "fuzz.gguf", {.keep_arrays = true});
  check(kept && kept->tensors.size() == file->tensors.size() && kept->data_offset == file->data_offset,
        "keep_arrays changes only what metadata keeps");

  const auto model = io::gguf_to_spec(*file);
  if (!model) {
    check(!model.error().message.empty(), "a refused architecture says why");
    return 0;
  }
  const ModelSpec& spec = model->spec;
  check(spec.layers.size() == spec.num_layers, "a GGUF spec has one LayerSpec per layer");
  if (spec.num_layers > fuzz::max_estimated_layers) return 0; // see fuzz_util.hpp
  GpuSpec gpu;
  gpu.id = "fuzz";
  gpu.name = "fuzz GPU";
  gpu.memory_bytes = 80ull << 30;
  Settings s;
  const auto format = parse_weight_format(spec.weights_format.value_or(std::string(traits(spec.dtype).name)), spec.dtype);
  if (!format) return 0;
  s.weights = *format;
  s.kv_dtype = traits(spec.dtype).kv_allowed ? spec.dtype : Dtype::f16;
  s.context_tokens = spec.max_context != 0 && spec.max_context <= max_context_tokens ? spec.max_context : 4096;
  s.gpus.push_back({gpu, 0});
  (void)estimate(spec, s, {});
  return 0;
}
