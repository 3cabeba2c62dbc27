// llama.cpp memory planning. Formulas and sources: docs/engines.md; measured against the
// real library (node-llama-cpp 3.21.1's build) on the CPU for the KV cache, exactly.
#include "vramcalc/engine.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>

namespace vramcalc {

std::uint64_t LlamaCppDevice::total() const {
  return checked_add(checked_add(checked_add(checked_add(model_bytes, kv_bytes), compute_bytes), output_bytes),
                     overhead_bytes);
}

namespace {

constexpr std::uint64_t pad256(std::uint64_t x) { return ceil_div(x, 256) * 256; }

bool is_block_type(Dtype d) { return traits(d).block_elems > 1; }

// Bytes a tensor takes in a buffer: CUDA adds one partial row to quantized tensors whose rows
// are not a multiple of 512 (MATRIX_ROW_PADDING) and aligns to 128; the CPU aligns to 32.
std::uint64_t alloc_bytes(Dtype type, std::uint64_t bytes, std::uint64_t ne0, bool cuda) {
  if (!cuda) return round_up(bytes, 32);
  if (is_block_type(type) && ne0 % 512 != 0) bytes = checked_add(bytes, row_bytes(type, 512 - ne0 % 512));
  return round_up(bytes, 128);
}

// The compute buffer: the high-water mark of ggml's graph allocator for a prompt batch of T
// tokens, approximated from its largest live tensors (measured on the CPU backend: exact or
// within ~1% for real model shapes; docs/engines.md).
std::uint64_t compute_estimate(const ModelSpec& spec, std::uint64_t t, std::uint64_t n_kv, std::uint64_t n_kv_swa,
                               bool fa, bool output) {
  const auto& a = spec.attention;
  const std::uint64_t e = spec.hidden_size, q = a.num_heads * a.head_dim, kv = a.num_kv_heads * a.v_head_dim;
  std::uint64_t ff = spec.intermediate_size;
  if (spec.moe) {
    const MoeSpec& m = *spec.moe;
    ff = std::max(ff, m.expert_intermediate_size * m.experts_per_token + m.shared_experts * m.shared_intermediate_size);
  }
  const std::uint64_t mask = (fa ? 2 : 4) * (n_kv + n_kv_swa);
  std::uint64_t att = 0, ffn = 0;
  if (fa) {
    att = t * (mask + 12 * e + 8 * q + 28);
    ffn = t * (mask + 12 * ff + 16 * e + 28);
  } else {
    att = t * (4 * n_kv * (a.num_heads + 1) + 12 * e + 8 * q + 8 * kv + 20 + 4 * n_kv_swa);
    ffn = t * (mask + 12 * ff + 14 * e + 20);
  }
  std::uint64_t peak = std::max(att, ffn);
  if (output) peak = std::max(peak, 4 * spec.vocab_size * t + t * (8 * e + 4));
  return round_up(peak, 128);
}

} // namespace

LlamaCppResult llamacpp_plan(const ModelSpec& spec, const WeightFormat& format, std::uint64_t n_ctx,
                             std::uint64_t n_seq, const std::vector<GpuSpec>& gpus, std::uint64_t overhead_bytes,
                             const LlamaCppOptions& o) {
  LlamaCppResult r;
  r.type_k = o.type_k.value_or(Dtype::f16);
  r.type_v = o.type_v.value_or(Dtype::f16);
  // Flash attention: "auto" turns it on where the device supports it; vramcalc assumes it does.
  r.flash_attn = o.flash_attn != FlashAttn::off;
  const bool cuda = o.cuda && !gpus.empty();

  // Context geometry (llama_context::llama_context): the batch limits use the unpadded
  // context; the context is padded to 256; without a unified cache each of the n_seq
  // streams gets pad256(n_ctx / n_seq) cells.
  n_seq = std::max<std::uint64_t>(1, n_seq);
  const std::uint64_t n_ctx_req = n_ctx != 0 ? n_ctx : spec.max_context;
  r.n_batch = std::min<std::uint64_t>(n_ctx_req, o.n_batch);
  r.n_ubatch = std::min<std::uint64_t>(r.n_batch, o.n_ubatch);
  r.n_ctx = pad256(n_ctx_req);
  if (o.kv_unified) {
    r.cells = r.n_ctx;
    r.n_stream = 1;
  } else {
    r.cells = pad256(r.n_ctx / n_seq);
    r.n_stream = n_seq;
    r.n_ctx = r.cells * n_seq;
  }
  // Sliding-window layers (llama_kv_cache_iswa): PAD256(min(cells, n_swa x (unified ? n_seq : 1) + n_ubatch)).
  const std::uint64_t window = spec.attention.sliding_window != 0 ? spec.attention.sliding_window : spec.attention.chunk_size;
  r.swa_cells = o.swa_full || window == 0
                    ? r.cells
                    : pad256(std::min(r.cells, window * (o.kv_unified ? n_seq : 1) + r.n_ubatch));

  // llama_init_from_model refuses these cleanly (returns no context)...
  const bool quant_k = is_block_type(r.type_k), quant_v = is_block_type(r.type_v);
  const std::uint64_t head_k = spec.attention.head_dim, head_v = spec.attention.v_head_dim;
  if (r.flash_attn && !spec.attention.mla && quant_k && head_k % traits(r.type_k).block_elems != 0) {
    r.error = "the K cache type's block (" + std::to_string(traits(r.type_k).block_elems) +
              ") does not divide the head size (" + std::to_string(head_k) + ")";
  } else if (r.flash_attn && !spec.attention.mla && quant_v && head_v % traits(r.type_v).block_elems != 0) {
    r.error = "the V cache type's block (" + std::to_string(traits(r.type_v).block_elems) +
              ") does not divide the head size (" + std::to_string(head_v) + ")";
  } else if (quant_v && !r.flash_attn) {
    r.error = "a quantized V cache needs flash attention";
  } else if (spec.attention.mla && r.type_k != r.type_v) {
    r.error = "MLA models need the same K and V cache types";
  }
  // ...and these abort the process (GGML_ASSERT).
  else if (r.n_batch < n_seq) {
    r.error = "the batch (" + std::to_string(r.n_batch) + " tokens) is smaller than the " + std::to_string(n_seq) +
              " sequences (llama_context::output_reserve asserts)";
    r.aborts = true;
  } else if (!r.flash_attn && quant_k && !spec.attention.mla && head_k % traits(r.type_k).block_elems != 0) {
    r.error = "a quantized K cache without flash attention needs the head size (" + std::to_string(head_k) +
              ") to be a multiple of the type's block (" + std::to_string(traits(r.type_k).block_elems) +
              "; ggml_view asserts)";
    r.aborts = true;
  }

  // Devices: the last n_gpu_layers of [blk.0 ... blk.L-1, output] go to the GPUs, split by
  // tensor_split (default: usable memory); token_embd always stays on the CPU.
  const std::uint64_t n_layer = spec.num_layers;
  const std::uint64_t ngl = gpus.empty() ? 0 : std::min<std::uint64_t>(o.n_gpu_layers.value_or(UINT32_MAX), n_layer + 1);
  r.gpu_layers = static_cast<std::uint32_t>(ngl);
  const std::uint64_t first_gpu = n_layer + 1 - ngl;
  std::vector<double> splits;
  {
    double sum = 0;
    for (std::size_t i = 0; i < gpus.size(); ++i) {
      const double w = i < o.tensor_split.size() ? o.tensor_split[i] : static_cast<double>(usable_bytes(gpus[i]));
      splits.push_back(sum += w);
    }
    for (double& x : splits) x /= sum > 0 ? sum : 1;
  }
  // -1: the host.
  auto device_of = [&](std::uint64_t il) -> int {
    if (ngl == 0 || il < first_gpu) return -1;
    const double x = static_cast<double>(il - first_gpu) / static_cast<double>(ngl);
    const auto it = std::upper_bound(splits.begin(), splits.end(), x);
    return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(it - splits.begin()), gpus.size() - 1));
  };
  r.gpus.resize(gpus.size());
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    r.gpus[i].name = gpus[i].id;
    r.gpus[i].usable_bytes = usable_bytes(gpus[i]);
    r.gpus[i].overhead_bytes = overhead_bytes;
  }
  r.host.name = "host";
  auto dev = [&](int d) -> LlamaCppDevice& { return d < 0 ? r.host : r.gpus[static_cast<std::size_t>(d)]; };
  const int output_device = device_of(n_layer);
  for (std::uint64_t il = 0; il < n_layer; ++il) {
    if (device_of(il) >= 0) ++dev(device_of(il)).layers;
  }
  if (output_device >= 0) dev(output_device).output = true;

  // Weights, tensor by tensor, in the buffer of their device.
  const std::vector<Tensor> tensors = model_tensors(spec);
  std::vector<Tensor> in_file;
  for (const Tensor& t : tensors) {
    if (t.group() != TensorGroup::vision) in_file.push_back(t);
  }
  const std::vector<TensorStorage> storage = tensor_storage(spec, in_file, format);
  std::uint64_t largest_cpu_matrix = 0;
  for (std::size_t i = 0; i < in_file.size(); ++i) {
    const Tensor& t = in_file[i];
    int d = -1;
    if (t.role == TensorRole::token_embd) {
      d = -1;
    } else if (t.layer < 0) {
      d = output_device; // output, output_norm
    } else {
      d = device_of(static_cast<std::uint64_t>(t.layer));
      if (t.is_routed_expert() && static_cast<std::uint64_t>(t.layer) < o.n_cpu_moe) d = -1;
    }
    const bool on_gpu = d >= 0 && cuda;
    dev(d).model_bytes = checked_add(dev(d).model_bytes, alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, on_gpu));
    if (d < 0 && t.is_matrix() && t.role != TensorRole::token_embd) {
      largest_cpu_matrix = std::max(largest_cpu_matrix, storage[i].bytes);
    }
    // A tied head needs its own copy of token_embd where the output layer is.
    if (t.role == TensorRole::token_embd && spec.tie_word_embeddings && output_device >= 0) {
      dev(output_device).model_bytes =
          checked_add(dev(output_device).model_bytes, alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, cuda));
    }
  }

  // KV cache and recurrent state, on each layer's device.
  std::uint64_t v_max = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.has_mixer && l.attention != AttentionKind::none) v_max = std::max(v_max, l.num_kv_heads * l.head_dim_v);
  }
  for (std::uint64_t il = 0; il < n_layer; ++il) {
    const LayerSpec& l = spec.layers[il];
    const int d = device_of(il);
    const bool on_gpu = d >= 0 && cuda;
    if (!l.has_mixer) continue;
    if (l.attention == AttentionKind::none) {
      if (!spec.recurrent) continue;
      // f32 whatever the cache types; one state per sequence (llama_memory_recurrent).
      RecurrentSpec f32 = *spec.recurrent;
      f32.state_dtype = Dtype::f32;
      ModelSpec s32 = spec;
      s32.recurrent = f32;
      const std::uint64_t st = checked_mul(state_bytes_per_sequence(s32, l), std::max<std::uint64_t>(1, n_seq));
      r.state_bytes += st;
      dev(d).kv_bytes = checked_add(dev(d).kv_bytes, alloc_bytes(Dtype::f32, st, 1, on_gpu));
      continue;
    }
    const std::uint64_t cells = l.attention == AttentionKind::full ? r.cells : r.swa_cells;
    const std::uint64_t k_width = spec.attention.mla ? spec.attention.mla->kv_lora_rank + spec.attention.mla->qk_rope_head_dim
                                                     : l.num_kv_heads * l.head_dim_k;
    const std::uint64_t k = checked_mul(checked_mul(row_bytes(r.type_k, k_width), cells), r.n_stream, "the KV cache");
    std::uint64_t bytes = alloc_bytes(r.type_k, k, k_width, on_gpu);
    if (!spec.attention.mla) {
      // Without flash attention V is stored transposed, every layer at the widest V.
      const std::uint64_t v_width = r.flash_attn ? l.num_kv_heads * l.head_dim_v : v_max;
      const std::uint64_t v = checked_mul(checked_mul(row_bytes(r.type_v, v_width), cells), r.n_stream, "the KV cache");
      bytes = checked_add(bytes, alloc_bytes(r.type_v, v, v_width, on_gpu));
    }
    r.kv_bytes = checked_add(r.kv_bytes, bytes, "the KV cache");
    dev(d).kv_bytes = checked_add(dev(d).kv_bytes, bytes, "the KV cache");
  }

  // Compute buffers: on each device with layers (logits where the output layer is), and a
  // host buffer for the graph inputs (token embeddings, masks).
  const std::uint64_t t = ceil_div(r.n_ubatch, n_seq) * n_seq;
  const std::uint64_t n_kv_swa = window != 0 && r.swa_cells != r.cells ? r.swa_cells : 0;
  for (std::size_t i = 0; i < r.gpus.size(); ++i) {
    LlamaCppDevice& g = r.gpus[i];
    if (g.layers == 0 && !g.output) continue;
    g.compute_bytes = compute_estimate(spec, t, r.cells, n_kv_swa, r.flash_attn, g.output);
    // Flash attention over a non-f16 cache converts one layer's K and V to f16 on CUDA.
    if (cuda && r.flash_attn && (r.type_k != Dtype::f16 || r.type_v != Dtype::f16)) {
      const std::uint64_t elems = checked_mul(r.cells, r.n_stream);
      g.compute_bytes += round_up(2 * spec.attention.num_kv_heads * spec.attention.head_dim * elems, 128);
      if (!spec.attention.mla) g.compute_bytes += round_up(2 * spec.attention.num_kv_heads * spec.attention.v_head_dim * elems, 128);
    }
    // With layers left on the CPU, their large matmuls run on the GPU from a copy of the weight.
    if (ngl < n_layer + 1) g.compute_bytes += largest_cpu_matrix;
  }
  const bool cpu_layers = ngl < n_layer + 1;
  r.host.compute_bytes = cpu_layers ? compute_estimate(spec, t, r.cells, n_kv_swa, r.flash_attn, output_device < 0)
                                    : round_up(t * (4 * spec.hidden_size + (r.flash_attn ? 2 : 4) * r.cells + 20), 32);
  // The logits output buffer (host): n_vocab x n_seq f32 at first (llama_context::output_reserve).
  r.host.output_bytes = checked_mul(4 * spec.vocab_size, n_seq);

  r.fits = r.error.empty();
  for (const LlamaCppDevice& g : r.gpus) r.fits = r.fits && g.fits();
  return r;
}

} // namespace vramcalc
