// Uses vramcalc::core only: a tiny Llama-style model built in code, its parameter count
// (checked against the arithmetic written out below), and its weights in two formats.
#include <vramcalc/format.hpp>
#include <vramcalc/model.hpp>
#include <vramcalc/tensors.hpp>

#include <cstdint>
#include <cstdio>

int main() {
  vramcalc::ModelSpec spec;
  spec.id = "tiny";
  spec.name = "Tiny test model";
  spec.arch = "llama";
  spec.hidden_size = 64;
  spec.num_layers = 2;
  spec.intermediate_size = 128;
  spec.vocab_size = 1000;
  spec.max_context = 4096;
  spec.attention.num_heads = 4;
  spec.attention.num_kv_heads = 2;
  spec.attention.head_dim = 16;
  spec.attention.v_head_dim = 16;
  vramcalc::expand_layers(spec, {});

  // embedding and untied head: 2 x 1000 x 64; per layer: q and o 64x64, k and v 64x32,
  // gate, up and down 64x128, two norms of 64; the final norm 64.
  const std::uint64_t per_layer = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64;
  const std::uint64_t expected = 2 * 1000 * 64 + 2 * per_layer + 64;
  const vramcalc::ParamCounts params = vramcalc::count_params(spec);
  std::printf("tiny model: %llu parameters (expected %llu)\n", static_cast<unsigned long long>(params.total),
              static_cast<unsigned long long>(expected));
  if (params.total != expected) return 1;

  for (const char* name : {"bf16", "q8_0"}) {
    const auto format = vramcalc::parse_weight_format(name, spec.dtype);
    if (!format) {
      std::printf("%s: %s\n", name, format.error().message.c_str());
      return 1;
    }
    const vramcalc::WeightBytes bytes = vramcalc::weight_bytes(spec, *format);
    std::printf("  %-5s %llu bytes of weights (%s)\n", name, static_cast<unsigned long long>(bytes.total),
                format->description.c_str());
    if (bytes.total == 0) return 1;
  }
  return 0;
}
