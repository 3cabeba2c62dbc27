// The numbers of `vramcalc explain` (explain.hpp), from the same tensor list, storage
// rules and KV functions as the estimate.
#include "vramcalc/explain.hpp"

#include "vramcalc/format.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/units.hpp"

#include <tuple>

namespace vramcalc {

std::expected<Explanation, Error> explain(const ModelSpec& model, const Settings& s,
                                                  std::span<const GpuSpec> catalog) {
  Explanation e;
  auto r = estimate(model, s, catalog);
  if (!r) return std::unexpected(r.error());
  e.report = std::move(*r);

  std::vector<Tensor> tensors = model_tensors(model);
  if (s.weights.kind == FormatKind::gguf || (s.weights.file && s.weights.file->gguf)) {
    std::erase_if(tensors, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
  }
  const std::vector<TensorStorage> storage = tensor_storage(model, tensors, s.weights);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    std::string name = std::string(tensor_role_name(t.role)) + (t.bias ? ".bias" : ".weight");
    if (t.mtp) name = "mtp." + name;
    bool merged = false;
    for (ExplainTensor& x : e.tensors) {
      if (std::tie(x.name, x.ne0, x.ne1, x.ne2, x.dtype, x.bytes_each) ==
          std::tie(name, t.ne0, t.ne1, t.ne2, storage[i].dtype, storage[i].bytes)) {
        ++x.count;
        merged = true;
        break;
      }
    }
    if (!merged) e.tensors.push_back({name, t.group(), t.ne0, t.ne1, t.ne2, storage[i].dtype, storage[i].bytes, 1});
  }

  if (s.engine == EngineKind::llamacpp) {
    const LlamaCppOptions& o = s.engine_options.llamacpp;
    e.mmproj_dtype = o.mmproj_dtype;
    e.mmproj_file = o.mmproj_file;
    e.mmproj_tensors = o.mmproj_tensors;
    e.no_kv_offload = o.no_kv_offload;
    for (const LlamaCppLora& a : o.loras) {
      ExplainAdapter x{a.name, a.rank, a.pairs.size(), 0};
      // Cannot overflow: the plan summed the same bytes, padded, without overflowing.
      for (const LlamaCppLoraPair& p : a.pairs) x.bytes += p.a_bytes + p.b_bytes;
      e.adapters.push_back(std::move(x));
    }
  }

  e.kv_dtype = s.kv_dtype;
  const bool latent = model.attention.mla && model.attention.mla->latent_cache;
  const std::uint64_t mla_rank = latent ? model.attention.mla->kv_lora_rank : 0;
  const std::uint64_t mla_rope = latent ? model.attention.mla->qk_rope_head_dim : 0;
  for (const LayerSpec& l : model.layers) {
    if (!l.has_mixer) continue;
    if (l.attention == AttentionKind::none) {
      const std::uint64_t st = state_bytes_per_sequence(model, l);
      if (st > 0) {
        ++e.state_layers;
        e.state_bytes_per_layer = st;
        e.state = state_elements(model, l);
      }
      continue;
    }
    const std::uint64_t per_token = kv_bytes_per_token(model, l, s.kv_dtype);
    const std::uint64_t held = kv_tokens_held(l, s.context_tokens, s.kv_policy);
    ExplainKvGroup* g = nullptr;
    for (ExplainKvGroup& x : e.kv) {
      if (x.kind == l.attention && x.window == l.window && x.kv_heads == l.num_kv_heads && x.head_dim_k == l.head_dim_k &&
          x.head_dim_v == l.head_dim_v) {
        g = &x;
      }
    }
    if (g == nullptr) {
      e.kv.push_back({l.attention, 0, l.window, l.num_kv_heads, l.head_dim_k, l.head_dim_v, mla_rank, mla_rope, per_token, held, 0});
      g = &e.kv.back();
    }
    ++g->layers;
    // Cannot overflow: the estimate summed the same products without overflowing.
    g->bytes += per_token * held * s.batch;
  }
  return e;
}

} // namespace vramcalc
