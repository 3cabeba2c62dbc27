// llama.cpp memory planning, by release. Formulas and sources: docs/engines.md; measured
// against the real library (node-llama-cpp 3.21.1's build) on the CPU for the KV cache,
// exactly, and against llama.cpp, LM Studio and Ollama logs (tests/data/llamacpp/logs.csv).
#include "vramcalc/engine.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>

namespace vramcalc {

std::string_view ggml_type_name(Dtype d) {
  return d == Dtype::f16 ? "f16" : d == Dtype::f32 ? "f32" : traits(d).name;
}

std::uint64_t LlamaCppDevice::total() const {
  return checked_add(checked_add(checked_add(checked_add(checked_add(model_bytes, lora_bytes), kv_bytes), compute_bytes), output_bytes),
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

// The compute buffer: the high-water mark of ggml's graph allocator over a prompt batch of T
// tokens, approximated from its largest live sets, the attention, MLP and output phases
// (measured on the CPU backend: exact or within ~1% for real model shapes; docs/engines.md).
struct Phases {
  std::uint64_t att = 0, ffn = 0, out = 0;
};

Phases compute_phases(const ModelSpec& spec, std::uint64_t t, std::uint64_t n_out, std::uint64_t n_kv,
                      std::uint64_t n_kv_swa, bool fa, std::uint32_t release) {
  const auto& a = spec.attention;
  const std::uint64_t e = spec.hidden_size;
  std::uint64_t q = a.num_heads * a.head_dim;
  const std::uint64_t kv = a.num_kv_heads * a.v_head_dim;
  for (const LayerSpec& l : spec.layers) {
    if (l.head_dim_q != 0) q = std::max(q, a.num_heads * l.head_dim_q); // Gemma 4's global layers: wider queries
  }
  std::uint64_t ff = spec.intermediate_size;
  if (spec.moe) {
    const MoeSpec& m = *spec.moe;
    ff = std::max(ff, m.expert_intermediate_size * m.experts_per_token + m.shared_experts * m.shared_intermediate_size);
  }
  const std::uint64_t mask = (fa ? 2 : 4) * (n_kv + n_kv_swa);
  // With fewer outputs than tokens the last layer runs its MLP on the output rows only
  // (llm_graph_context: inp_out_ids), which lowers the MLP phase (measured with n_outputs_max).
  const bool all_out = n_out >= t;
  const bool old = release < llamacpp_release::set_rows;
  Phases p;
  if (fa) {
    p.att = t * (mask + 12 * e + 8 * q + 28);
    p.ffn = t * (mask + 12 * ff + (all_out ? 16 * e + 28 : 8 * e + 20));
  } else {
    // Builds before the set_rows KV store (PR #14959) keep less beside the scores: 8E + 8Q per
    // token (16E on every Llama/Qwen log of those builds), and a fused QKV output (Phi-3).
    p.att = old ? t * (4 * n_kv * (a.num_heads + 1) + 8 * e + 8 * q + (a.fused_qkv ? 8 * kv : 0) + 4 * n_kv_swa)
                : t * (4 * n_kv * (a.num_heads + 1) + 12 * e + 8 * q + 8 * kv + 20 + 4 * n_kv_swa);
    p.ffn = t * (mask + 12 * ff + 14 * e + 20);
  }
  // The logits, and the final norm's output (one 4E row more on the 2026 oracle).
  p.out = 4 * spec.vocab_size * n_out + n_out * (old ? 4 * e : 8 * e + 4);
  return p;
}

// The cells a layer's cache holds: llama_kv_cache_iswa keeps full-attention layers in the
// main cache and sliding and chunked ones (LLAMA_SWA_TYPE_STANDARD / _CHUNKED) in the SWA
// cache. A switch, so a new attention kind is a compiler warning here.
std::uint64_t cache_cells(AttentionKind kind, const LlamaCppResult& r) {
  switch (kind) {
  case AttentionKind::full: return r.cells;
  case AttentionKind::sliding:
  case AttentionKind::chunked: return r.swa_cells;
  case AttentionKind::none: return 0; // recurrent layers keep a state, not cells
  }
  return r.cells;
}

// Context geometry (llama_context::llama_context): the batch limits use the unpadded
// context; the context is padded to 256; without a unified cache each of the n_seq
// streams gets pad256(n_ctx / n_seq) cells.
void plan_geometry(LlamaCppResult& r, const ModelSpec& spec, std::uint64_t n_ctx, std::uint64_t n_seq, bool unified,
                   std::uint64_t swa_window_tokens, const LlamaCppOptions& o) {
  const std::uint64_t n_ctx_req = n_ctx != 0 ? n_ctx : spec.max_context;
  r.n_batch = std::min<std::uint64_t>(n_ctx_req, o.n_batch);
  r.n_ubatch = std::min<std::uint64_t>(r.n_batch, o.n_ubatch);
  r.n_ctx = pad256(n_ctx_req);
  if (unified) {
    r.cells = r.n_ctx;
    r.n_stream = 1;
  } else {
    r.cells = pad256(r.n_ctx / n_seq);
    r.n_stream = n_seq;
    r.n_ctx = r.cells * n_seq;
  }
  // Sliding-window layers (llama_kv_cache_iswa): PAD256(min(cells, n_swa x (unified ? n_seq : 1) + n_ubatch)).
  r.swa_cells = o.swa_full || swa_window_tokens == 0
                    ? r.cells
                    : pad256(std::min(r.cells, swa_window_tokens * (unified ? n_seq : 1) + r.n_ubatch));
}

// The window of the sliding or chunked layers, 0 without any.
std::uint64_t swa_window(const ModelSpec& spec) {
  return spec.attention.sliding_window != 0 ? spec.attention.sliding_window : spec.attention.chunk_size;
}

// MLA as llama.cpp runs it: the latent cache only when the file says so (MlaSpec::latent_cache);
// an older DeepSeek GGUF runs as MHA and is treated as such below.
bool latent_cache(const ModelSpec& spec) { return spec.attention.mla && spec.attention.mla->latent_cache; }

void check_refusals(LlamaCppResult& r, const ModelSpec& spec, std::uint64_t n_seq, bool latent) {
  // llama_init_from_model refuses these cleanly (returns no context)...
  const bool quant_k = is_block_type(r.type_k), quant_v = is_block_type(r.type_v);
  const std::uint64_t head_k = spec.attention.head_dim, head_v = spec.attention.v_head_dim;
  if (r.flash_attn && !latent && quant_k && head_k % traits(r.type_k).block_elems != 0) {
    r.error = "the K cache type's block (" + std::to_string(traits(r.type_k).block_elems) +
              ") does not divide the head size (" + std::to_string(head_k) + ")";
  } else if (r.flash_attn && !latent && quant_v && head_v % traits(r.type_v).block_elems != 0) {
    r.error = "the V cache type's block (" + std::to_string(traits(r.type_v).block_elems) +
              ") does not divide the head size (" + std::to_string(head_v) + ")";
  } else if (quant_v && !r.flash_attn) {
    r.error = "a quantized V cache needs flash attention";
  } else if (latent && r.type_k != r.type_v) {
    r.error = "MLA models need the same K and V cache types";
  }
  // ...and these abort the process (GGML_ASSERT).
  else if (r.n_batch < n_seq) {
    r.error = "the batch (" + std::to_string(r.n_batch) + " tokens) is smaller than the " + std::to_string(n_seq) +
              " sequences (llama_context::output_reserve asserts)";
    r.aborts = true;
  } else if (!r.flash_attn && quant_k && !latent && head_k % traits(r.type_k).block_elems != 0) {
    r.error = "a quantized K cache without flash attention needs the head size (" + std::to_string(head_k) +
              ") to be a multiple of the type's block (" + std::to_string(traits(r.type_k).block_elems) +
              "; ggml_view asserts)";
    r.aborts = true;
  }
}

// Devices (llama_model::load_tensors): layers i_gpu_start ... i_gpu_start + N - 1 of
// [blk.0 ... blk.L-1, output] go to the GPUs, split by tensor_split (default: usable memory);
// token_embd always stays on the CPU. Since PR #18148 i_gpu_start = L + 1 - N (the output
// layer is offloaded first); before it i_gpu_start = L - N, so the output went to a GPU only
// with N > L.
struct LayerPlacement {
  std::uint64_t n_layer = 0;          // L: the repeating layers, MTP blocks loaded included (n_layer_all)
  std::uint64_t offloaded_layers = 0; // N: the layers of [blk.0 ... blk.L-1, output] on GPUs
  std::uint64_t first_gpu_layer = 0;  // i_gpu_start
  std::vector<double> cumulative_splits; // each GPU's upper bound in [0, 1]
  std::size_t n_gpus = 0;
  int output_device = -1;

  // -1: the host.
  [[nodiscard]] int device_of(std::uint64_t il) const {
    if (offloaded_layers == 0 || il < first_gpu_layer || il - first_gpu_layer >= offloaded_layers) return -1;
    const double x = static_cast<double>(il - first_gpu_layer) / static_cast<double>(offloaded_layers);
    const auto it = std::upper_bound(cumulative_splits.begin(), cumulative_splits.end(), x);
    return static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_splits.begin()), n_gpus - 1));
  }
};

LayerPlacement place_layers(std::uint64_t n_layer, const std::vector<GpuSpec>& gpus, std::uint32_t release,
                            const LlamaCppOptions& o) {
  namespace rel = llamacpp_release;
  LayerPlacement p;
  p.n_layer = n_layer;
  const std::uint64_t ngl_req = o.n_gpu_layers.value_or(UINT32_MAX);
  p.offloaded_layers = gpus.empty() ? 0 : std::min<std::uint64_t>(ngl_req, n_layer + 1);
  const std::uint64_t slots = release >= rel::output_first ? n_layer + 1 : n_layer;
  p.first_gpu_layer = slots > ngl_req ? slots - ngl_req : 0;
  double sum = 0;
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    const double w = i < o.tensor_split.size() ? o.tensor_split[i] : static_cast<double>(usable_bytes(gpus[i]));
    p.cumulative_splits.push_back(sum += w);
  }
  for (double& x : p.cumulative_splits) x /= sum > 0 ? sum : 1;
  p.n_gpus = gpus.size();
  p.output_device = p.device_of(n_layer);
  return p;
}

LlamaCppDevice& device(LlamaCppResult& r, int d) { return d < 0 ? r.host : r.gpus[static_cast<std::size_t>(d)]; }

// The devices of the result, each with its count of layers, and the GPU layer count.
void assign_devices(LlamaCppResult& r, const LayerPlacement& placement, std::uint64_t n_layer,
                    const std::vector<GpuSpec>& gpus, std::uint64_t overhead_bytes) {
  r.gpus.resize(gpus.size());
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    r.gpus[i].name = gpus[i].id;
    r.gpus[i].usable_bytes = usable_bytes(gpus[i]);
    r.gpus[i].overhead_bytes = overhead_bytes;
  }
  r.host.name = "host";
  for (std::uint64_t il = 0; il < n_layer; ++il) ++device(r, placement.device_of(il)).layers;
  if (placement.output_device >= 0) device(r, placement.output_device).output = true;
  std::uint64_t offloaded = placement.output_device >= 0 ? 1 : 0;
  for (const LlamaCppDevice& g : r.gpus) offloaded += g.layers;
  r.gpu_layers = static_cast<std::uint32_t>(offloaded);
}

// What the copies of weights left in system RAM take on the first GPU.
struct HostCopies {
  std::uint64_t largest_matrix_bytes = 0; // the largest matrix of a host layer
  std::uint64_t largest_layer_bytes = 0;  // all the weights of the largest host layer
  std::uint64_t output_bytes = 0;         // the head, when it stays in system RAM
  std::uint64_t mtp_weights_bytes = 0;    // not a copy: the MTP blocks' tensors on all devices (draft-mtp)
};

// Weights, tensor by tensor, in the buffer of their device. Weights left in system RAM are
// copied to the first GPU when a batch of 32 or more tokens uses them (ggml_backend_sched:
// op offload, PR #6083), one weight per graph split: the largest such copy, and the
// weights of one host layer, size the first GPU's compute buffer below.
HostCopies place_weights(LlamaCppResult& r, const ModelSpec& spec, const WeightFormat& format,
                         const LayerPlacement& placement, std::uint64_t n_cpu_moe, bool cuda, bool load_mtp) {
  // The MTP blocks (blk.L ... with their nextn.* tensors) are loaded only with draft-mtp
  // (llama_model_params::load_mtp; else TENSOR_SKIP), on the devices of their places.
  const std::uint64_t n_layer = placement.n_layer;
  const int output_device = placement.output_device;
  const std::vector<Tensor> tensors = model_tensors(spec, load_mtp);
  std::vector<Tensor> in_file;
  for (const Tensor& t : tensors) {
    if (t.group() != TensorGroup::vision) in_file.push_back(t);
  }
  const std::vector<TensorStorage> storage = tensor_storage(spec, in_file, format);
  HostCopies host;
  std::vector<std::uint64_t> host_layer_bytes(n_layer, 0);
  for (std::size_t i = 0; i < in_file.size(); ++i) {
    const Tensor& t = in_file[i];
    int d = -1;
    if (t.role == TensorRole::token_embd) {
      d = -1;
    } else if (t.layer < 0) {
      d = output_device; // output, output_norm
    } else {
      d = placement.device_of(static_cast<std::uint64_t>(t.layer));
      if (t.is_routed_expert() && static_cast<std::uint64_t>(t.layer) < n_cpu_moe) d = -1;
    }
    const bool on_gpu = d >= 0 && cuda;
    LlamaCppDevice& dev = device(r, d);
    const std::uint64_t bytes = alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, on_gpu);
    dev.model_bytes = checked_add(dev.model_bytes, bytes);
    if (t.mtp) host.mtp_weights_bytes = checked_add(host.mtp_weights_bytes, bytes);
    if (d < 0 && t.role != TensorRole::token_embd) {
      // What its copy takes on the GPU.
      const std::uint64_t copy = alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, cuda);
      if (t.role == TensorRole::output) host.output_bytes = copy;
      if (t.layer >= 0 && static_cast<std::uint64_t>(t.layer) < n_layer) {
        host_layer_bytes[static_cast<std::size_t>(t.layer)] += copy;
        if (t.is_matrix()) host.largest_matrix_bytes = std::max(host.largest_matrix_bytes, copy);
      }
    }
    // A tied head needs its own copy of token_embd where the output layer is.
    if (t.role == TensorRole::token_embd && spec.tie_word_embeddings) {
      if (output_device >= 0) {
        LlamaCppDevice& out = device(r, output_device);
        out.model_bytes = checked_add(out.model_bytes, alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, cuda));
      } else {
        host.output_bytes = alloc_bytes(storage[i].dtype, storage[i].bytes, t.ne0, cuda);
      }
    }
  }
  for (std::uint64_t w : host_layer_bytes) host.largest_layer_bytes = std::max(host.largest_layer_bytes, w);
  return host;
}

// Each adapter's lora_a and lora_b in a buffer of their base tensor's buffer type
// (llama_adapter_lora_init_impl: ggml_backend_buffer_get_type of the base tensor; a CPU repack
// type falls back to the plain CPU type): the device of the base's layer, the output layer's
// for output.weight, the CPU for token_embd and for experts --n-cpu-moe keeps there. One
// buffer per adapter and buffer type, each tensor padded as a weight is (ggml-alloc).
void place_loras(LlamaCppResult& r, const std::vector<LlamaCppLora>& loras, const LayerPlacement& placement,
                 std::uint64_t n_cpu_moe, bool cuda) {
  for (const LlamaCppLora& lora : loras) {
    for (const LlamaCppLoraPair& p : lora.pairs) {
      int d = -1;
      if (p.layer == -1) d = placement.output_device;
      else if (p.layer >= 0 && !(p.routed_expert && static_cast<std::uint64_t>(p.layer) < n_cpu_moe))
        d = placement.device_of(static_cast<std::uint64_t>(p.layer));
      const bool on_gpu = d >= 0 && cuda;
      const std::uint64_t bytes = checked_add(alloc_bytes(p.type_a, p.a_bytes, p.a_ne0, on_gpu),
                                              alloc_bytes(p.type_b, p.b_bytes, p.b_ne0, on_gpu), "a LoRA adapter");
      LlamaCppDevice& dev = device(r, d);
      dev.lora_bytes = checked_add(dev.lora_bytes, bytes, "a LoRA adapter");
      r.lora_bytes = checked_add(r.lora_bytes, bytes, "a LoRA adapter");
    }
  }
  r.lora_adapters = loras.size();
  for (const LlamaCppLora& lora : loras) r.lora_rank = std::max(r.lora_rank, lora.rank);
}

// f32 whatever the cache types; one state per sequence (llama_memory_recurrent), each with
// `rows` rows: 1 + n_rs_seq, the rollback snapshots of draft-mtp (mem_size × (1 + n_rs_seq)).
std::uint64_t recurrent_state_bytes(const ModelSpec& spec, const LayerSpec& layer, std::uint64_t n_seq,
                                    std::uint64_t rows = 1) {
  RecurrentSpec f32 = *spec.recurrent;
  f32.state_dtype = Dtype::f32;
  ModelSpec s32 = spec;
  s32.recurrent = f32;
  return checked_mul(checked_mul(state_bytes_per_sequence(s32, layer), std::max<std::uint64_t>(1, n_seq)), rows);
}

// KV cache and recurrent state, on each layer's device, of layers `first_layer` on (a layer
// filter of llama_model::create_memory); `rs_rows` rows per recurrent state. Returns the largest
// K + V of one layer whose cache is in system RAM.
std::uint64_t place_kv_cache(LlamaCppResult& r, const ModelSpec& spec, const LayerPlacement& placement,
                             std::uint64_t n_seq, bool latent, bool cuda, bool no_kv_offload,
                             std::uint64_t first_layer = 0, std::uint64_t rs_rows = 1) {
  namespace rel = llamacpp_release;
  std::uint64_t v_max = 0;
  for (const LayerSpec& l : spec.layers) {
    if (l.has_mixer && l.attention != AttentionKind::none) v_max = std::max(v_max, l.num_kv_heads * l.head_dim_v);
  }
  std::uint64_t host_kv_layer = 0; // the largest K + V of one layer whose cache is in system RAM
  for (std::uint64_t il = first_layer; il < spec.num_layers; ++il) {
    const LayerSpec& l = spec.layers[il];
    // -nkvo (offload_kqv false): the cache's buffer type is the CPU's for every layer
    // (llama_kv_cache::llama_kv_cache, src/llama-kv-cache.cpp; the recurrent cache alike).
    const int d = no_kv_offload ? -1 : placement.device_of(il);
    const bool on_gpu = d >= 0 && cuda;
    if (!l.has_mixer) continue;
    if (l.attention == AttentionKind::none) {
      if (!spec.recurrent) continue;
      const std::uint64_t st = recurrent_state_bytes(spec, l, n_seq, rs_rows);
      r.state_bytes += st;
      device(r, d).kv_bytes = checked_add(device(r, d).kv_bytes, alloc_bytes(Dtype::f32, st, 1, on_gpu));
      continue;
    }
    const std::uint64_t cells = cache_cells(l.attention, r);
    const MlaSpec* mla = latent ? &*spec.attention.mla : nullptr;
    const std::uint64_t k_width = mla ? mla->kv_lora_rank + mla->qk_rope_head_dim : l.num_kv_heads * l.head_dim_k;
    const std::uint64_t k = checked_mul(checked_mul(row_bytes(r.type_k, k_width), cells), r.n_stream, "the KV cache");
    std::uint64_t bytes = alloc_bytes(r.type_k, k, k_width, on_gpu);
    // Without flash attention V is stored transposed, every layer at the widest V. MLA stores
    // no V since PR #19067; before it, V held the latent (kv_lora_rank wide).
    const std::uint64_t v_width = mla ? (r.release < rel::mla_k_only ? mla->kv_lora_rank : 0)
                                      : r.flash_attn ? l.num_kv_heads * l.head_dim_v : v_max;
    if (v_width != 0) {
      const std::uint64_t v = checked_mul(checked_mul(row_bytes(r.type_v, v_width), cells), r.n_stream, "the KV cache");
      bytes = checked_add(bytes, alloc_bytes(r.type_v, v, v_width, on_gpu));
    }
    r.kv_bytes = checked_add(r.kv_bytes, bytes, "the KV cache");
    device(r, d).kv_bytes = checked_add(device(r, d).kv_bytes, bytes, "the KV cache");
    if (d < 0) host_kv_layer = std::max(host_kv_layer, bytes);
  }
  return host_kv_layer;
}

// What the compute buffers are sized from: the phases of a batch, and what the host leaves
// to the first GPU.
struct ComputeInputs {
  Phases phases;
  std::uint64_t n_kv_swa = 0;        // the cells of the sliding-window cache, 0 when it is the main one
  bool op_offload = false;           // batches run on the GPUs, layers in system RAM included
  bool host_layers = false;          // some layer or expert stays in system RAM
  int output_device = -1;
  HostCopies host_copies;
  std::uint64_t host_kv_layer_bytes = 0; // the largest K + V of one host layer
};

std::uint64_t gpu_compute_bytes(const LlamaCppResult& r, const ModelSpec& spec, const ComputeInputs& in,
                                const LlamaCppDevice& g, bool takes_host_work, bool cuda, bool latent) {
  const Phases& ph = in.phases;
  std::uint64_t c = std::max(ph.att, ph.ffn);
  if (g.output || (takes_host_work && in.output_device < 0)) c = std::max(c, ph.out);
  if (takes_host_work) {
    // A layer whose cache is in system RAM attends on the GPU from copies of its K and V;
    // its offloaded weights fragment the buffer by about one layer's worth (an allowance:
    // docs/engines.md). The MLP of a host layer adds its largest weight's copy, the output
    // layer in system RAM the head's.
    if (in.host_kv_layer_bytes > 0) {
      c = std::max(c, ph.att + in.host_kv_layer_bytes + in.host_copies.largest_layer_bytes);
    }
    c = std::max(c, ph.ffn + in.host_copies.largest_matrix_bytes);
    if (in.output_device < 0) c = std::max(c, ph.out + in.host_copies.output_bytes);
  }
  c = round_up(c, 128);
  // Flash attention over a non-f16 cache converts one layer's K and V to f16 on CUDA.
  if (cuda && r.flash_attn && (r.type_k != Dtype::f16 || r.type_v != Dtype::f16)) {
    const std::uint64_t elems = checked_mul(r.cells, r.n_stream);
    c += round_up(2 * spec.attention.num_kv_heads * spec.attention.head_dim * elems, 128);
    if (!latent) c += round_up(2 * spec.attention.num_kv_heads * spec.attention.v_head_dim * elems, 128);
  }
  return c;
}

// Compute buffers (llama_context::graph_reserve): a prompt batch of T = n_ubatch tokens
// (rounded up to a multiple of n_seq) over n_kv = the cells of one stream, with logits for
// n_outputs of them: all T in the library; in llama-server since PR #23861 its slots'
// n_parallel x (1 + n_draft) (server_output_limits).
void plan_compute_buffers(LlamaCppResult& r, const ModelSpec& spec, const LayerPlacement& placement,
                          const HostCopies& host_copies, std::uint64_t host_kv_layer_bytes, std::uint64_t n_seq,
                          std::uint64_t swa_window_tokens, bool cuda, bool latent, const LlamaCppOptions& o) {
  namespace rel = llamacpp_release;
  const std::uint64_t t = ceil_div(r.n_ubatch, n_seq) * n_seq;
  r.n_outputs = o.server && r.release >= rel::server_outputs
                    ? std::min(t, std::min<std::uint64_t>(r.n_batch, checked_mul(n_seq, 1 + o.n_draft)))
                    : t;
  ComputeInputs in;
  in.n_kv_swa = swa_window_tokens != 0 && r.swa_cells != r.cells ? r.swa_cells : 0;
  in.phases = compute_phases(spec, t, r.n_outputs, r.cells, in.n_kv_swa, r.flash_attn, r.release);
  // With GPUs, batches of 32 tokens or more run entirely on them (ggml_backend_sched op
  // offload: CUDA's min batch 32), layers in system RAM included; below that those layers
  // run on the CPU.
  in.op_offload = !r.gpus.empty() && t >= 32;
  in.host_layers = placement.offloaded_layers < placement.n_layer + 1 || (o.n_cpu_moe > 0 && spec.moe);
  in.output_device = placement.output_device;
  in.host_copies = host_copies;
  // -nkvo runs attention on the CPU: no GPU attends from copies of a host layer's K and V.
  in.host_kv_layer_bytes = o.no_kv_offload ? 0 : host_kv_layer_bytes;
  for (std::size_t i = 0; i < r.gpus.size(); ++i) {
    LlamaCppDevice& g = r.gpus[i];
    const bool takes_host_work = i == 0 && in.op_offload && in.host_layers;
    if (g.layers == 0 && !g.output && !takes_host_work) continue;
    g.compute_bytes = gpu_compute_bytes(r, spec, in, g, takes_host_work, cuda, latent);
  }
  const Phases& ph = in.phases;
  if (in.op_offload || !in.host_layers) {
    // Only the graph inputs stay on the host: the token embeddings it looks up and the masks.
    const std::uint64_t mask = (r.flash_attn ? 2 : 4) * (r.cells + in.n_kv_swa);
    r.host.compute_bytes = round_up(t * (4 * spec.hidden_size + mask + 20), 32);
    // -nkvo: "all nodes between the KV store and the attention output are run on the CPU"
    // (llm_graph_context::build_attn_mha, src/llama-graph.cpp: ggml_backend_sched_set_tensor_backend
    // to the CPU when !offload_kqv), so the host's buffer holds the attention phase too.
    if (o.no_kv_offload && !r.gpus.empty()) r.host.compute_bytes = std::max(r.host.compute_bytes, round_up(ph.att, 128));
  } else {
    // CPU only, or batches too small to offload: the host runs its layers' phases.
    r.host.compute_bytes = round_up(std::max({ph.att, ph.ffn, in.output_device < 0 ? ph.out : 0}), 128);
  }
}

// draft-mtp (the build of 2026-09-12): the architectures with an MTP graph vramcalc models, and
// the layers their caches hold (src/llama-model.cpp llama_model::create_memory). glm4moe and
// deepseek2 take the plain cache with no layer filter, so both the target's and the MTP
// context's caches hold every block of the file, MTP blocks included; the hybrid Qwen
// models' MTP context is a plain cache of the MTP blocks only (filter il >= n_layer()), their
// target's hybrid cache the repeating layers only.
enum class MtpCache : std::uint8_t { unsupported, all_layers, mtp_only };

MtpCache mtp_cache(std::string_view arch) {
  if (arch == "glm4moe" || arch == "deepseek2") return MtpCache::all_layers;
  if (arch == "qwen3next" || arch == "qwen35" || arch == "qwen35moe") return MtpCache::mtp_only;
  return MtpCache::unsupported;
}

// Recurrent state that keeps n_rs_seq rollback snapshots (src/llama-arch.cpp
// llm_arch_supports_rs_rollback); draft-mtp asks for n_draft of them
// (common_params_speculative::need_n_rs_seq).
bool rs_rollback(std::string_view arch) {
  return arch == "qwen35" || arch == "qwen35moe" || arch == "lfm2" || arch == "lfm2moe" || arch == "nemotron_h" ||
         arch == "nemotron_h_moe" || arch == "bailingmoe3";
}

} // namespace

std::string llamacpp_mtp_refusal(const ModelSpec& spec, std::uint32_t release) {
  if ((release == 0 ? llamacpp_release::newest : release) < llamacpp_release::draft_mtp)
    return "--spec-type draft-mtp needs a build from 2026-05-15 on (PR #22673); this one has no MTP drafting";
  if (spec.mtp_layers == 0) return "--spec-type draft-mtp: the model has no MTP (nextn) layers (\"failed to create MTP context\")";
  if (mtp_cache(spec.arch) == MtpCache::unsupported)
    return "--spec-type draft-mtp: vramcalc models it for glm4moe, deepseek2, qwen3next, qwen35 and qwen35moe, not " +
           (spec.arch.empty() ? std::string("this architecture") : spec.arch);
  return "";
}

namespace {

// The model as llama.cpp's caches see a file with its MTP blocks: blk.L ... blk.L+M-1 as
// full-attention blocks after the repeating ones (the shapes model_tensors gives them).
ModelSpec with_mtp_blocks(const ModelSpec& spec) {
  ModelSpec ext = spec;
  ext.layers.insert(ext.layers.end(), spec.mtp_layers, detail::mtp_block_layer(spec));
  ext.num_layers = spec.num_layers + spec.mtp_layers;
  return ext;
}

// A context's buffers added to `r`'s devices: `from`'s KV cache, compute and output buffers
// (its weights are the target's, or counted by the caller).
void add_context_buffers(LlamaCppResult& r, const LlamaCppResult& from, std::uint64_t times, const char* what) {
  const auto add = [&](LlamaCppDevice& to, const LlamaCppDevice& d) {
    to.kv_bytes = checked_add(to.kv_bytes, checked_mul(times, d.kv_bytes, what), what);
    to.compute_bytes = checked_add(to.compute_bytes, checked_mul(times, d.compute_bytes, what), what);
    to.output_bytes = checked_add(to.output_bytes, checked_mul(times, d.output_bytes, what), what);
  };
  for (std::size_t i = 0; i < r.gpus.size() && i < from.gpus.size(); ++i) add(r.gpus[i], from.gpus[i]);
  add(r.host, from.host);
}

// The MTP context (common_speculative_init_result with LLAMA_CONTEXT_TYPE_MTP): the target's
// n_ctx, sequences, batch and streams (common_base_params_to_speculative copies the target's
// params), the draft cache types -ctkd / -ctvd, n_outputs_max = n_parallel, on the target's
// model and so its layer placement; its cache holds `ext`'s layers from `first_layer` on.
LlamaCppMtp plan_mtp_context(LlamaCppResult& r, const ModelSpec& spec, const ModelSpec& ext, const LayerPlacement& placement,
                             const HostCopies& host_copies, std::uint64_t n_seq, std::uint64_t window,
                             const std::vector<GpuSpec>& gpus, bool cuda, bool latent, const LlamaCppOptions& o) {
  LlamaCppResult m;
  m.release = r.release;
  m.n_ctx = r.n_ctx;
  m.cells = r.cells;
  m.n_stream = r.n_stream;
  m.swa_cells = r.swa_cells;
  m.n_batch = r.n_batch;
  m.n_ubatch = r.n_ubatch;
  m.flash_attn = r.flash_attn;
  m.type_k = o.type_k_draft.value_or(Dtype::f16);
  m.type_v = o.type_v_draft.value_or(Dtype::f16);
  assign_devices(m, placement, placement.n_layer, gpus, 0);
  const std::uint64_t first = mtp_cache(spec.arch) == MtpCache::mtp_only ? spec.num_layers : 0;
  const std::uint64_t host_kv_layer = place_kv_cache(m, ext, placement, n_seq, latent, cuda, o.no_kv_offload, first);
  LlamaCppOptions mo = o;
  mo.server = true; // n_outputs_max = n_parallel: n_seq x (1 + 0) rows
  mo.n_draft = 0;
  mo.type_k = m.type_k;
  mo.type_v = m.type_v;
  plan_compute_buffers(m, spec, placement, host_copies, host_kv_layer, n_seq, window, cuda, latent, mo);
  // Its graph (LLM_GRAPH_TYPE_DECODER_MTP) runs the MTP blocks only: no GPU without one of them
  // (or the output layer, whose head it may use) gets a compute buffer.
  for (std::size_t i = 0; i < m.gpus.size(); ++i) {
    const int d = static_cast<int>(i);
    if (d != placement.device_of(spec.num_layers) && d != placement.output_device) m.gpus[i].compute_bytes = 0;
  }
  m.host.output_bytes = checked_mul(4 * spec.vocab_size, n_seq);
  add_context_buffers(r, m, 1, "the MTP context");
  LlamaCppMtp out;
  out.layers = static_cast<std::uint32_t>(spec.mtp_layers);
  out.kv_layers = static_cast<std::uint32_t>(ext.num_layers - first);
  out.n_ctx = m.n_ctx;
  out.type_k = m.type_k;
  out.type_v = m.type_v;
  out.kv_bytes = m.kv_bytes;
  for (const LlamaCppDevice& g : m.gpus) out.compute_bytes = checked_add(out.compute_bytes, g.compute_bytes);
  out.compute_bytes = checked_add(out.compute_bytes, m.host.compute_bytes);
  out.output_bytes = m.host.output_bytes;
  return out;
}

} // namespace

LlamaCppResult llamacpp_plan(const ModelSpec& spec, const WeightFormat& format, std::uint64_t n_ctx,
                             std::uint64_t n_seq, const std::vector<GpuSpec>& gpus, std::uint64_t overhead_bytes,
                             const LlamaCppOptions& o) {
  namespace rel = llamacpp_release;
  LlamaCppResult r;
  const std::uint32_t release = o.release == 0 ? rel::newest : o.release;
  r.release = release;
  r.type_k = o.type_k.value_or(Dtype::f16);
  r.type_v = o.type_v.value_or(Dtype::f16);
  // Flash attention: "auto" (the default from PR #15434) turns it on where the device supports
  // it, which vramcalc assumes; before that PR the default was off.
  r.flash_attn = o.flash_attn == FlashAttn::on || (o.flash_attn == FlashAttn::automatic && release >= rel::fa_auto);
  const bool cuda = o.cuda && !gpus.empty();
  // Before the set_rows KV store was the default (PR #14959) a request for per-sequence streams
  // was refused ("non-unified KV cache requires ggml_set_rows() - forcing unified KV cache").
  const bool unified = o.kv_unified || release < rel::set_rows;
  n_seq = std::max<std::uint64_t>(1, n_seq);
  const std::uint64_t window = swa_window(spec);
  plan_geometry(r, spec, n_ctx, n_seq, unified, window, o);

  const bool latent = latent_cache(spec);
  check_refusals(r, spec, n_seq, latent);
  // draft-mtp: the MTP blocks are loaded and take their places after the repeating layers.
  // With an MTP drafter (mtp_on_draft) the target needs only a build with draft-mtp; its own
  // MTP blocks, where it has them, load all the same (load_mtp follows --spec-type).
  const std::string mtp_error = o.spec_mtp ? llamacpp_mtp_refusal(spec, release) : "";
  const bool too_old = o.spec_mtp && release < rel::draft_mtp;
  if (r.error.empty() && !mtp_error.empty() && (!o.mtp_on_draft || too_old)) r.error = mtp_error;
  const bool mtp = o.spec_mtp && mtp_error.empty();
  // A GGUF file that keeps its MTP blocks has them in n_layer_all whether they load or not:
  // -ngl counts them and glm4moe's / deepseek2's cache holds them (measured, the build of
  // 2026-09-12). A catalog model is sized as a GGUF without them unless draft-mtp loads them.
  const bool file_mtp = spec.mtp_layers > 0 && release >= rel::draft_mtp && format.kind == FormatKind::file &&
                        format.file && format.file->gguf && mtp_cache(spec.arch) != MtpCache::unsupported;
  const bool blocks = mtp || file_mtp;
  const ModelSpec ext = blocks ? with_mtp_blocks(spec) : ModelSpec{};
  const ModelSpec& cached = blocks && mtp_cache(spec.arch) == MtpCache::all_layers ? ext : spec;

  const LayerPlacement placement = place_layers(blocks ? ext.num_layers : spec.num_layers, gpus, release, o);
  assign_devices(r, placement, placement.n_layer, gpus, overhead_bytes);
  r.layers = static_cast<std::uint32_t>(placement.n_layer);
  const HostCopies host_copies = place_weights(r, spec, format, placement, o.n_cpu_moe, cuda, mtp);
  place_loras(r, o.loras, placement, o.n_cpu_moe, cuda);
  // n_rs_seq = need_n_rs_seq(): --spec-draft-n-max under draft-mtp, for the target with or
  // without a drafter; 0 for the drafter's MTP context.
  const bool snapshots = (mtp || (o.mtp_on_draft && !too_old)) && !o.mtp_context_only && rs_rollback(spec.arch);
  const std::uint64_t rs_rows = snapshots ? 1 + std::uint64_t{o.n_draft} : 1;
  if (!o.mtp_context_only) {
    const std::uint64_t host_kv_layer =
        place_kv_cache(r, cached, placement, n_seq, latent, cuda, o.no_kv_offload, 0, rs_rows);
    plan_compute_buffers(r, spec, placement, host_copies, host_kv_layer, n_seq, window, cuda, latent, o);
    // The logits output buffer (host): n_vocab x n_seq f32 at first (llama_context::output_reserve).
    r.host.output_bytes = checked_mul(4 * spec.vocab_size, n_seq);
  }
  if (mtp && !o.mtp_on_draft) {
    r.mtp = plan_mtp_context(r, spec, ext, placement, host_copies, n_seq, window, gpus, cuda, latent, o);
    r.mtp->target_caches_mtp = &cached == &ext;
    r.mtp->n_draft = o.n_draft;
    r.mtp->weights_bytes = host_copies.mtp_weights_bytes;
    if (rs_rows > 1) r.mtp->state_snapshot_bytes = r.state_bytes - r.state_bytes / rs_rows;
  }

  r.fits = r.error.empty();
  for (const LlamaCppDevice& g : r.gpus) r.fits = r.fits && g.fits();
  return r;
}

LlamaCppLora llamacpp_rank_lora(const ModelSpec& spec, std::uint64_t rank, Dtype type) {
  LlamaCppLora lora;
  lora.name = "rank " + std::to_string(rank);
  lora.rank = rank;
  for (const Tensor& t : model_tensors(spec)) {
    if (t.bias || t.mtp || t.layer < 0 || static_cast<std::uint64_t>(t.layer) >= spec.num_layers || !t.is_matrix())
      continue;
    switch (t.role) {
    case TensorRole::attn_q: case TensorRole::attn_k: case TensorRole::attn_v: case TensorRole::attn_qkv:
    case TensorRole::attn_output: case TensorRole::ffn_gate: case TensorRole::ffn_up: case TensorRole::ffn_down:
    case TensorRole::ffn_gate_shexp: case TensorRole::ffn_up_shexp: case TensorRole::ffn_down_shexp: break;
    default: continue;
    }
    // The base is [ne0 = in, ne1 = out]: lora_a [in, rank], lora_b [rank, out].
    LlamaCppLoraPair p;
    p.layer = t.layer;
    p.type_a = p.type_b = type;
    p.a_ne0 = t.ne0;
    p.a_bytes = checked_mul(row_bytes(type, t.ne0), rank, "--lora");
    p.b_ne0 = rank;
    p.b_bytes = checked_mul(row_bytes(type, rank), t.ne1, "--lora");
    lora.pairs.push_back(p);
  }
  return lora;
}

std::uint64_t LlamaCppMtp::total() const {
  return checked_add(checked_add(checked_add(checked_add(weights_bytes, kv_bytes), compute_bytes), output_bytes),
                     state_snapshot_bytes);
}

std::uint64_t LlamaCppDraft::total() const {
  return checked_add(weights_bytes, checked_mul(contexts, checked_add(kv_bytes, compute_bytes), "the draft model"),
                     "the draft model");
}

void llamacpp_add_draft(LlamaCppResult& r, const DraftModel& draft, std::uint64_t contexts,
                        const std::vector<GpuSpec>& gpus, const LlamaCppOptions& o) {
  // server_context::load_model (tools/server/server.cpp): params_dft is the target's params
  // with the draft's model, devices and -ngld, n_ctx -cd or llama_n_ctx_seq of the target (its
  // cells per stream), n_parallel 1 and the -ctkd / -ctvd cache types; cparams_dft.n_batch is
  // that context's n_ctx. The context common_init_from_params makes is freed ("we will create
  // one for each slot"), and init() gives every slot its own (llama_init_from_model).
  //
  // From PR #22838 (over #22787, 2026-05-08) one draft context serves every slot
  // (common/speculative.cpp common_speculative_init_result, the build of 2026-09-12): n_ctx =
  // llama_n_ctx(ctx_tgt), all the target's cells; the target's n_parallel (its sequences and
  // streams), kv_unified, -b and -ub; n_outputs_max = n_parallel; -cd is gone.
  LlamaCppOptions d = o;
  d.n_gpu_layers = o.n_gpu_layers_draft;
  d.type_k = o.type_k_draft.value_or(Dtype::f16);
  d.type_v = o.type_v_draft.value_or(Dtype::f16);
  d.n_cpu_moe = 0;
  d.n_draft = 0;
  // Under draft-mtp the draft model is an MTP drafter (common_speculative_init_result with a
  // draft model, the build of 2026-09-12): loaded whole with load_mtp and -ngld, one context
  // of type LLAMA_CONTEXT_TYPE_MTP on it (the target's n_ctx and sequences, -ctkd / -ctvd,
  // n_rs_seq 0), planned as the target's own MTP context is; no other context of its own.
  d.spec_mtp = o.spec_mtp;
  d.mtp_on_draft = false;
  d.mtp_context_only = o.spec_mtp;
  d.loras.clear(); // the adapters modify the target model only
  const bool shared = (o.release == 0 ? llamacpp_release::newest : o.release) >= llamacpp_release::shared_draft;
  const std::uint64_t n_seq = shared ? contexts : 1;
  if (shared) {
    d.server = true; // n_outputs_max = n_parallel (from #23861; every token before it)
    contexts = 1;
  } else {
    d.kv_unified = false;
    d.server = false; // a draft context reserves outputs as a plain context does
  }
  const std::uint64_t n_ctx = shared ? r.n_ctx : o.n_ctx_draft != 0 ? o.n_ctx_draft : r.cells;
  if (!shared) d.n_batch = static_cast<std::uint32_t>(std::min<std::uint64_t>(pad256(n_ctx), UINT32_MAX));
  WeightFormat f = detail::llamacpp_gguf_weights(draft.format);
  if (f.kind == FormatKind::gguf) f.llamacpp_release = o.release;
  const LlamaCppResult dp = llamacpp_plan(draft.spec, f, n_ctx, n_seq, gpus, 0, d);
  LlamaCppDraft out;
  out.name = draft.name;
  out.weights = f.id;
  out.n_ctx = dp.n_ctx;
  out.contexts = contexts;
  out.gpu_layers = dp.gpu_layers;
  out.total_layers = static_cast<std::uint32_t>((dp.mtp ? dp.layers : draft.spec.num_layers) + 1);
  out.type_k = dp.type_k;
  out.type_v = dp.type_v;
  if (dp.mtp) {
    out.mtp_layers = dp.mtp->layers;
    out.kv_layers = dp.mtp->kv_layers;
    out.type_k = dp.mtp->type_k;
    out.type_v = dp.mtp->type_v;
  }
  const auto add = [&](LlamaCppDevice& to, const LlamaCppDevice& from) {
    to.model_bytes = checked_add(to.model_bytes, from.model_bytes, "the draft model");
    to.kv_bytes = checked_add(to.kv_bytes, checked_mul(contexts, from.kv_bytes, "the draft model"), "the draft model");
    to.compute_bytes =
        checked_add(to.compute_bytes, checked_mul(contexts, from.compute_bytes, "the draft model"), "the draft model");
    to.output_bytes =
        checked_add(to.output_bytes, checked_mul(contexts, from.output_bytes, "the draft model"), "the draft model");
    out.weights_bytes = checked_add(out.weights_bytes, from.model_bytes, "the draft model");
    out.kv_bytes = checked_add(out.kv_bytes, from.kv_bytes, "the draft model");
    out.compute_bytes = checked_add(out.compute_bytes, from.compute_bytes, "the draft model");
  };
  for (std::size_t i = 0; i < r.gpus.size() && i < dp.gpus.size(); ++i) add(r.gpus[i], dp.gpus[i]);
  add(r.host, dp.host);
  if (r.error.empty() && !dp.error.empty()) {
    r.error = "the draft model: " + dp.error;
    r.aborts = dp.aborts;
  }
  r.draft = std::move(out);
  r.fits = r.error.empty();
  for (const LlamaCppDevice& g : r.gpus) r.fits = r.fits && g.fits();
}

} // namespace vramcalc

// ---- llama.cpp's part of an estimate (engine_sections.hpp) --------------------------

namespace vramcalc::detail {

// llama.cpp runs GGUF files: a plain float format means the GGUF file of that type.
WeightFormat llamacpp_gguf_weights(const WeightFormat& f) {
  if (f.kind == FormatKind::gguf || f.kind == FormatKind::file) return f;
  // gpt-oss's GGUF (convert_hf_to_gguf keeps the MXFP4 experts, the rest Q8_0) is the
  // MXFP4_MOE mix tensor for tensor.
  if (f.kind == FormatKind::mxfp4) return parse_weight_format("mxfp4_moe", f.dtype).value();
  const char* name = f.dtype == Dtype::f32 ? "gguf-f32" : f.dtype == Dtype::f16 ? "gguf-f16" : "gguf-bf16";
  return parse_weight_format(name, f.dtype).value();
}

namespace {

// The build date YYYYMMDD as llama.cpp's release pages write it: 2026-09-12.
std::string release_text(std::uint32_t d) {
  const auto two = [](std::uint32_t v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
  return std::to_string(d / 10000) + "-" + two(d / 100 % 100) + "-" + two(d % 100);
}

// --mmproj: the projector's weights in one buffer on the first GPU (clip.cpp
// clip_model_loader::load_tensors: ggml_backend_alloc_ctx_tensors_from_buft on the backend
// ggml_backend_init_by_type(GPU) picks, not split by -ts), or on the CPU with
// --no-mmproj-offload (mparams.use_gpu false). Its compute buffer (llamacpp_clip_compute_bytes)
// goes to the same device's compute buffer where the tower's clip facts are known.
void add_mmproj(LlamaCppResult& r, const ModelSpec& model, const LlamaCppOptions& o) {
  if (!o.mmproj_dtype && !o.mmproj_size_bytes) return;
  r.mmproj_bytes = o.mmproj_size_bytes.value_or(
      checked_mul(model.vision_params, traits(o.mmproj_dtype.value_or(Dtype::f16)).block_bytes, "the mmproj weights"));
  r.mmproj_on_gpu = !o.no_mmproj_offload && !r.gpus.empty();
  LlamaCppDevice& d = r.mmproj_on_gpu ? r.gpus.front() : r.host;
  d.model_bytes = checked_add(d.model_bytes, r.mmproj_bytes, "the mmproj weights");
  if (const ClipTower* t = llamacpp_mmproj_tower(model, o)) {
    r.mmproj_compute_bytes = llamacpp_clip_compute_bytes(*t, r.flash_attn);
    d.compute_bytes = checked_add(d.compute_bytes, r.mmproj_compute_bytes, "the mmproj compute buffer");
  }
  r.fits = r.error.empty();
  for (const LlamaCppDevice& g : r.gpus) r.fits = r.fits && g.fits();
}

// What --spec-type draft-mtp does beyond its figures (the MTP line and the devices' rows).
std::string mtp_note(const LlamaCppMtp& m) {
  std::string n = "--spec-type draft-mtp: the MTP block" + std::string(m.layers == 1 ? " counts" : "s count") +
                  " among the layers (-ngl); the MTP context's compute buffer is the target's estimate on the "
                  "device of the MTP block, an upper bound (its own graph measured 0.60 to 1.00 times that on the CPU).";
  if (m.target_caches_mtp)
    n += " This architecture's caches have no layer filter: the target's and the MTP context's each hold every block, "
         "the MTP blocks included (measured).";
  if (m.state_snapshot_bytes > 0)
    n += " The recurrent state keeps " + std::to_string(m.n_draft) + " rollback snapshots a sequence (n_rs_seq).";
  return n;
}

std::vector<std::string> llamacpp_notes(const ModelSpec& model, const Settings& s, const LlamaCppSection& l) {
  std::vector<std::string> notes;
  const LlamaCppResult& p = l.plan;
  if (p.gpu_layers < l.total_layers) {
    notes.push_back(std::to_string(l.total_layers - p.gpu_layers) + " of " + std::to_string(l.total_layers) +
                    " layers (counting the output) stay in system RAM (-ngl " + std::to_string(p.gpu_layers) +
                    "): the CPU runs them token by token; prompt batches of 32 or more run on the first GPU, from "
                    "copies of their weights in its compute buffer.");
  }
  if (model.attention.mla && s.weights.kind != FormatKind::file) {
    notes.push_back("Sized as a GGUF with MLA metadata (converted after llama.cpp PR #12801, April 2025); a GGUF "
                    "converted before it caches full K and V per head, far more (about 71 times at DeepSeek V3's "
                    "shape): give the file to size it.");
  }
  if (s.engine_options.llamacpp.no_kv_offload) {
    notes.push_back("-nkvo: every layer's KV cache is in system RAM and attention runs on the CPU; the GPUs' compute "
                    "buffers are left as with the cache on them (an upper bound).");
  }
  if (p.mmproj_bytes > 0) {
    notes.push_back(std::string("--mmproj: the projector's weights are ") +
                    (p.mmproj_on_gpu ? "on the first GPU (in its weights)" : "in system RAM (--no-mmproj-offload)") +
                    (s.engine_options.llamacpp.mmproj_size_bytes
                         ? "."
                         : ", the vision tower's parameters at the file's type (its f32 norms and biases make a "
                           "file slightly larger: give its size for the exact figure).") +
                    (p.mmproj_compute_bytes > 0
                         ? " The encoder's compute buffer, " + with_commas(p.mmproj_compute_bytes) +
                               " bytes reserved at its warmup for one image of " +
                               with_commas(llamacpp_mmproj_tower(model, s.engine_options.llamacpp)->patches) +
                               " patches with flash attention " +
                               (p.flash_attn ? "on" : "off") + " (measured rule), is in the same device's compute buffer."
                         : llamacpp_mmproj_tower(model, s.engine_options.llamacpp) != nullptr
                               ? " The encoder's compute buffer, reserved at its warmup, is not counted: its " +
                                     llamacpp_mmproj_tower(model, s.engine_options.llamacpp)->projector +
                                     " graph has no exact rule at this shape with flash attention " + (p.flash_attn ? "on" : "off") +
                                     " (measured: docs/engines.md, \"Vision projector\")."
                               : std::string(" The encoder's compute buffer, reserved at its warmup, is not counted: "
                                             "measured with flash attention 121 MiB (Gemma 3) to 705 MiB (Qwen2.5-VL), "
                                             "without it 1.1 to 4.9 GiB (gguf-parser-go #44).")));
  } else if (model.vision_params > 0 && s.engine_options.llamacpp.no_mmproj_offload) {
    notes.emplace_back("--no-mmproj-offload without --mmproj: no projector is counted.");
  }
  if (p.mtp) notes.push_back(mtp_note(*p.mtp));
  if (p.draft && p.release >= llamacpp_release::shared_draft) {
    notes.push_back(std::string("Draft model: one draft context for all slots (PR #22838) with the target's cells") +
                    (s.engine_options.llamacpp.n_ctx_draft != 0 ? "; -cd is gone in this build and is not applied." : "."));
    if (p.release >= llamacpp_release::no_auto_simple && !s.engine_options.llamacpp.spec_simple)
      notes.emplace_back("llama-server of this build drafts with -md only under --spec-type draft-simple (PR #23988); "
                         "without it the draft model is loaded and then freed.");
  }
  if (s.engine_options.llamacpp.n_cpu_moe > 0 && model.moe) {
    notes.push_back("The routed experts of the first " +
                    std::to_string(std::min<std::uint64_t>(s.engine_options.llamacpp.n_cpu_moe, model.num_layers)) +
                    " layers stay in system RAM and run on the CPU (--n-cpu-moe).");
  }
  return notes;
}

} // namespace

EngineSection llamacpp_section(const ModelSpec& model, const Settings& s, const Parallel&) {
  const GpuRequest& g = s.gpus.front();
  LlamaCppOptions o = s.engine_options.llamacpp;
  if (!o.type_k) o.type_k = s.kv_dtype;
  if (!o.type_v) o.type_v = s.kv_dtype;
  WeightFormat w = llamacpp_gguf_weights(s.weights);
  // The mix as the quantizer of that release chose it (Q2_K and attn_qkv rules changed).
  if (w.kind == FormatKind::gguf) w.llamacpp_release = o.release;
  const std::uint64_t n_ctx = checked_mul(s.context_tokens, s.batch, "the context");
  // With a draft model llama-server drafts --draft-max tokens per step (common/common.h
  // common_params_speculative: n_max 16 by default).
  // draft-mtp drafts --spec-draft-n-max tokens (common_params_speculative_draft::n_max, 3 in
  // the build of 2026-09-12), with the model's own MTP layers or an MTP drafter.
  if (o.spec_mtp && o.n_draft == 0) o.n_draft = 3;
  if (s.draft && o.n_draft == 0) o.n_draft = 16;
  // common/speculative.cpp: with a draft file and draft-mtp the MTP context is the draft
  // model's (an MTP drafter GGUF), not the target's.
  o.mtp_on_draft = o.spec_mtp && s.draft != nullptr;
  const auto plan_on = [&](std::uint32_t n) {
    const std::vector<GpuSpec> gpus(n, g.gpu);
    LlamaCppResult r = llamacpp_plan(model, w, n_ctx, s.batch, gpus, s.overhead_bytes, o);
    if (s.draft) llamacpp_add_draft(r, *s.draft, s.batch, gpus, o);
    add_mmproj(r, model, o);
    return r;
  };
  LlamaCppSection l;
  if (g.count != 0) {
    l.plan = plan_on(g.count);
  } else {
    // More GPUs than layers + 1 hold nothing more.
    const auto most = static_cast<std::uint32_t>(std::min<std::uint64_t>(model.num_layers + 1, max_gpu_count));
    for (std::uint32_t n = 1; n <= most; ++n) {
      l.plan = plan_on(n);
      if (l.plan.fits || !l.plan.error.empty()) break;
    }
  }
  LlamaCppResult& p = l.plan;
  const std::uint64_t window = model.attention.sliding_window != 0 ? model.attention.sliding_window : model.attention.chunk_size;
  if (window == 0) p.swa_cells = 0;
  l.weights = w.id;
  l.server = o.server;
  l.kv_unified = p.n_stream == 1 && (o.kv_unified || p.release < llamacpp_release::set_rows);
  l.swa_full = o.swa_full;
  l.total_layers = p.layers + 1;
  EngineSection e = section_head(release_text(p.release), g.gpu, 1, static_cast<std::uint32_t>(p.gpus.size()),
                                 s.context_tokens, s.batch);
  e.notes = llamacpp_notes(model, s, l);
  e.fits = p.fits;
  llamacpp_host(e, p);
  e.detail = std::move(l);
  return e;
}

void llamacpp_host(EngineSection& e, const LlamaCppResult& plan) {
  const LlamaCppDevice& h = plan.host;
  e.host_bytes = h.total();
  std::vector<std::string> parts;
  if (h.model_bytes > 0) parts.emplace_back("weights mapped from the file");
  if (h.lora_bytes > 0) parts.emplace_back("LoRA adapters");
  if (h.kv_bytes > 0) parts.emplace_back("KV cache");
  if (h.compute_bytes > 0) parts.emplace_back("compute buffer");
  if (h.output_bytes > 0) parts.emplace_back("output buffer");
  std::string what = "the CPU device's ";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    what += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  e.host_what = parts.empty() ? "" : what;
}

std::uint32_t llamacpp_most_gpus(const ModelSpec& model) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(model.num_layers + 1, 64));
}

void engine_decide(FitRow& row, const EngineSection&, const LlamaCppSection& l, std::uint64_t) {
  // Its layer split over the GPUs; the busiest GPU is the one with the least room.
  row.count = static_cast<std::uint32_t>(l.plan.gpus.size());
  row.tp = 1;
  row.pp = row.count;
  const LlamaCppDevice* busiest = nullptr;
  std::int64_t least = std::numeric_limits<std::int64_t>::max();
  for (const LlamaCppDevice& d : l.plan.gpus) {
    const std::int64_t h = headroom_bytes(d.usable_bytes, d.total());
    if (busiest == nullptr || h < least) {
      busiest = &d;
      least = h;
    }
  }
  if (busiest == nullptr) return;
  row.required_bytes_per_gpu = busiest->total();
  row.usable_bytes = busiest->usable_bytes;
  row.headroom_bytes = least;
  row.busiest_weights_bytes = busiest->model_bytes;
  row.busiest_kv_bytes = busiest->kv_bytes;
  row.busiest_state_bytes = 0;
  row.overhead_bytes = busiest->compute_bytes + busiest->output_bytes + busiest->overhead_bytes;
}

} // namespace vramcalc::detail

// ---- llama.cpp's options: the flags of llama-server, the keys of a deployment's engine_options ----

namespace vramcalc {

// The compute buffer clip.cpp reserves for the vision tower at its warmup (tools/mtmd/clip.cpp
// clip_model_loader::warmup -> reserve_compute_meta: ggml_backend_sched_reserve of the graph of
// one warmup image, n patches). Measured to the byte on llama.cpp's CPU backend (the release
// node-llama-cpp 3.21.1 ships, 2026-09-12; tests/data/llamacpp/mmproj_compute.csv): the peak is a
// block's MLP with flash attention, the f32 attention scores without, with the f32 n x width
// tensors live beside them and, for some towers, the inputs (docs/engines.md, "Vision projector").
namespace {

// bytes = n (ffn_bytes x ffn + (width_bytes [+ 4 x deepstack kept]) x width) [+ 4 heads n^2 (the
//         f32 scores)] + mask_k x n^2 (the window mask: 4 f32, 2 more for its f16 copy) [+ 12 n
//         patch^2 (the f32 image)] + position_arrays x ceil32(4 n) [+ 2 x ceil32(n) (the window
//         indices, n / 4 i32 each)] + 4 x break_rows x projection width (pixtral's [IMG_BREAK] rows),
// n counting the class token where the tower has one (not in the image's term),
// where `covers` holds (the shapes where the allocator lays the graph out as measured).
struct ClipRule {
  std::string_view projector;
  bool flash_attn;
  std::uint64_t ffn_bytes, width_bytes; // bytes a patch per unit of the MLP's / the tower's width
  bool deepstack, scores;
  std::uint64_t mask_k;
  bool image;
  std::uint64_t position_arrays; // i32 arrays of one position a patch (inputs), each padded to 32 bytes
  std::uint64_t break_rows;
  bool class_token;      // n + 1 positions (the CLS token), scores padded to 32 bytes
  bool (*covers)(const ClipTower&);
  std::uint64_t (*stages)(const ClipTower&); // instead of the n x (ffn, width) term: the largest of several stages
};

// A single block peaks elsewhere, except in the towers with a class token (internvl, llama4).
bool any_tower(const ClipTower& t) { return t.blocks != 1 || t.projector == "internvl" || t.projector == "llama4"; }

// clip.cpp gives InternViT RMS norms when n_embd == 3200 && n_layer == 45 (the real 6B tower):
// then its q / k norms leave the layout as InternViT-300M's (measured at 45 blocks). With layer
// norms (any other block count) they do not (measured at 2, 4 and 6 blocks, alike).
bool internvl_rms(const ClipTower& t) { return t.width == 3200 && t.blocks == 45; }
bool internvl_300m(const ClipTower& t) { return !t.qk_norm || internvl_rms(t); }
bool internvl_qk_layer_norm(const ClipTower& t) { return t.qk_norm && !internvl_rms(t) && t.blocks != 1; }

// Qwen2.5-VL with flash attention: the f16 copy of the window mask lives at the buffer's end from
// the first windowed block on; a windowed block's gated MLP output goes past it when it fits in no
// freed block: gate and up share the f32 mask's freed n^2 x 4 (2F <= n), what they leave is too
// small (3F > n), and so are the two freed n x width blocks (2E < F). Measured from 8 blocks.
bool qwen25vl_fa_layout(const ClipTower& t) {
  return t.blocks >= 8 && 2 * t.ffn_width <= t.patches && 3 * t.ffn_width > t.patches && 2 * t.width < t.ffn_width;
}

// pixtral with flash attention: the attention's f16 K and V copies (n x width x 2 each) fit in the
// image's freed block (n x 12 x patch^2) only while width <= 6 patch^2; past it the layout differs.
bool pixtral_fa_layout(const ClipTower& t) { return t.blocks != 1 && t.width <= 6 * t.patch_size * t.patch_size; }

// Kimi K2.5's MoonViT with flash attention: the same split of freed blocks as pixtral's.
bool kimik25_fa_layout(const ClipTower& t) { return t.width <= 6 * t.patch_size * t.patch_size; }

// pixtral without: the scores peak while they outweigh the MLP's three n x ffn f32 tensors
// (16 heads at n 1,024 and ffn 4,096 measured exact, 8 heads not).
bool pixtral_scores_peak(const ClipTower& t) { return t.blocks != 1 && t.heads * t.patches >= 3 * t.ffn_width; }

// Qwen3-VL / Qwen3.5 with flash attention (allocator traces, tests/oracle/mmproj): the graph's
// DeepStack branches are built from the output tensor back, so they run after the last block and
// the k DeepStack block outputs before the last two blocks stay live (n x width f32 each, U =
// 4nE). Three stages peak, each above the image's freed block and the positions: a block's
// attention (the residual and the k kept outputs, Q, a freed U, the fused QKV 3U and K: (6 + k)
// U); a block's MLP after m DeepStack layers (m counting those before the last block: two U and m
// U, then the up projection's n x ffn f32); the final concat of three DeepStack features (n x W
// f32 each, W the projection width) over four U: the first feature, the two-feature concat and
// the three-feature concat, 6 n W.
std::uint64_t qwen3vl_fa_stages(const ClipTower& t) {
  const char* what = "the mmproj compute buffer";
  const std::uint64_t u = checked_mul(checked_mul(4, t.patches, what), t.width, what);
  const std::uint64_t attention = checked_mul(6 + t.deepstack_kept, u, what);
  const std::uint64_t mlp = checked_add(checked_mul(2 + t.deepstack_before_last, u, what),
                                        checked_mul(checked_mul(4, t.patches, what), t.ffn_width, what), what);
  const std::uint64_t concat = t.deepstack_kept == 3 ? checked_add(checked_mul(4, u, what),
                                                                   checked_mul(checked_mul(6, t.patches, what), t.projection_width, what), what)
                                                     : 0;
  return std::max({attention, mlp, concat});
}

// Where those stages were measured: the n x width blocks too large for the image's freed block
// (3 patch^2 < width); no DeepStack layer kept, up to 4 blocks (k 1 to 3), or the real towers' three
// spaced layers of 24 blocks or more with features narrower than U (W < 4 width; with 5 blocks and
// layers 0-2 the freed outputs merge and the concat peaks lower).
bool qwen3vl_fa_layout(const ClipTower& t) {
  if (t.blocks < 2 || 3 * t.patch_size * t.patch_size >= t.width) return false;
  if (t.deepstack_kept == 0 || t.blocks <= 4) return true;
  return t.deepstack_kept == 3 && t.blocks >= 24 && t.projection_width != 0 && t.projection_width < 4 * t.width;
}

constexpr ClipRule clip_rules[] = {
    // SigLIP: the up projection's output with three n x width tensors; scores with six.
    {"gemma3", true, 4, 12, false, false, 0, false, 0, 0, false, any_tower, nullptr},
    {"gemma3", false, 0, 24, false, true, 0, false, 0, 0, false, any_tower, nullptr},
    // Gemma 4: the gated MLP's three n x ffn tensors with three n x width, the image and pos_x / pos_y.
    {"gemma4v", true, 12, 12, false, false, 0, true, 2, 0, false, any_tower, nullptr},
    {"gemma4v", false, 0, 20, false, true, 0, true, 2, 0, false, any_tower, nullptr},
    // Qwen2.5-VL: with flash attention the f32 mask's freed block, the f16 mask, four n x width
    // blocks and the MLP output past them; without, the scores, the f32 mask and five n x width.
    // Both with the image, 4 M-RoPE positions a patch and the two window indices.
    {"qwen2.5vl_merger", true, 4, 16, false, false, 6, true, 4, 0, false, qwen25vl_fa_layout, nullptr},
    {"qwen2.5vl_merger", false, 0, 20, false, true, 4, true, 4, 0, false, any_tower, nullptr},
    // Qwen3-VL / Qwen3.5 without flash attention: scores, seven n x width, one more for each
    // DeepStack layer whose output waits for the end of the graph. With it: the largest of block
    // attention, a late MLP and the final DeepStack concat (qwen3vl_fa_stages), above the image's
    // freed block and the 4 M-RoPE positions a patch.
    {"qwen3vl_merger", false, 0, 28, true, true, 0, true, 4, 0, false, any_tower, nullptr},
    {"qwen3vl_merger", true, 0, 0, false, false, 0, true, 4, 0, false, qwen3vl_fa_layout, qwen3vl_fa_stages},
    // Mistral Small 3.1: block 1's gated MLP 2.5 n x width blocks higher than it would sit (the
    // f16 K / V copies split the freed blocks); without, block 0's scores past five n x width.
    {"pixtral", true, 12, 14, false, false, 0, true, 2, 16, false, pixtral_fa_layout, nullptr},
    {"pixtral", false, 0, 20, false, true, 0, true, 2, 16, false, pixtral_scores_peak, nullptr},
    // InternViT-300M (InternVL 1B-14B): n + 1 positions (the class token); its plain MLP's output
    // with three n x width tensors as Gemma 3's, or the scores with four; so InternViT-6B (InternVL
    // 38B, 78B) too, with RMS norms. q / k norms with layer norms (no real tower): two n x width
    // tensors beside the MLP's output, five beside the scores.
    {"internvl", true, 4, 12, false, false, 0, false, 0, 0, true, internvl_300m, nullptr},
    {"internvl", false, 0, 16, false, true, 0, false, 0, 0, true, internvl_300m, nullptr},
    {"internvl", true, 4, 8, false, false, 0, false, 0, 0, true, internvl_qk_layer_norm, nullptr},
    {"internvl", false, 0, 20, false, true, 0, false, 0, 0, true, internvl_qk_layer_norm, nullptr},
    // Llama 4: n + 1 positions too; its MLP's output with two n x width tensors, or the scores with
    // five, both above the image's freed block and pos_h / pos_w.
    {"llama4", true, 4, 8, false, false, 0, true, 2, 0, true, any_tower, nullptr},
    {"llama4", false, 0, 20, false, true, 0, true, 2, 0, true, any_tower, nullptr},
    // Kimi K2.5 with flash attention: its plain MLP's output 3.5 n x width blocks up, as pixtral's
    // (the f16 K / V copies in the image's freed block); pos_h / pos_w. Without: no rule (one run).
    {"kimik25", true, 4, 14, false, false, 0, true, 2, 0, false, kimik25_fa_layout, nullptr},
};

} // namespace

bool llamacpp_clip_projector_known(std::string_view projector) {
  return std::ranges::any_of(clip_rules, [&](const ClipRule& r) { return r.projector == projector; });
}

std::uint64_t llamacpp_clip_compute_bytes(const ClipTower& t, bool flash_attn) {
  const auto rule = std::ranges::find_if(clip_rules, [&](const ClipRule& r) {
    return r.projector == t.projector && r.flash_attn == flash_attn && r.covers(t);
  });
  if (rule == std::ranges::end(clip_rules)) return 0;
  const char* what = "the mmproj compute buffer";
  const std::uint64_t n = rule->class_token ? checked_add(t.patches, 1, what) : t.patches;
  const std::uint64_t width_bytes = rule->width_bytes + (rule->deepstack ? checked_mul(4, t.deepstack_kept, what) : 0);
  std::uint64_t bytes = rule->stages ? rule->stages(t)
                                     : checked_mul(n, checked_add(checked_mul(rule->ffn_bytes, t.ffn_width, what),
                                                                  checked_mul(width_bytes, t.width, what), what), what);
  if (rule->scores) {
    const std::uint64_t scores = checked_mul(checked_mul(checked_mul(4, t.heads, what), n, what), n, what);
    bytes = checked_add(bytes, checked_add(scores, (32 - scores % 32) % 32, what), what); // ggml's 32-byte alignment
  }
  if (rule->mask_k > 0) {
    bytes = checked_add(bytes, checked_mul(checked_mul(rule->mask_k, n, what), n, what), what);
    bytes = checked_add(bytes, checked_mul(2, (n + 31) / 32 * 32, what), what);
  }
  if (rule->image) {
    bytes = checked_add(bytes, checked_mul(checked_mul(12, t.patches, what), checked_mul(t.patch_size, t.patch_size, what), what), what);
  }
  bytes = checked_add(bytes, checked_mul(checked_mul(4, rule->break_rows, what), t.projection_width, what), what);
  const std::uint64_t positions = checked_mul(4, n, what);
  return checked_add(bytes, checked_mul(rule->position_arrays, checked_add(positions, (32 - positions % 32) % 32, what), what), what);
}

std::uint64_t llamacpp_clip_warmup_patches(std::string_view projector, std::uint64_t image_size, std::uint64_t patch_size,
                                           std::uint64_t merge) {
  if (projector == "gemma3") return patch_size == 0 ? 0 : (image_size / patch_size) * (image_size / patch_size);
  // set_warmup_n_tokens: 16 x 16 tokens for Gemma 4 (merge: the pooling kernel, 3 by default),
  // 46 x 46 for Qwen-VL (merge: spatial_merge_size, 2 by default); each token merge^2 patches.
  if (projector == "gemma4v") return (16 * (merge == 0 ? 3 : merge)) * (16 * (merge == 0 ? 3 : merge));
  // kimik25: the side of image_max_pixels (the file's, else 4,096 tokens of merge^2 patches).
  if (projector == "kimik25") {
    if (patch_size == 0) return 0;
    const std::uint64_t max_pixels = image_size != 0 ? image_size : 4096 * patch_size * patch_size * (merge == 0 ? 2 : merge) * (merge == 0 ? 2 : merge);
    std::uint64_t side = 0;
    while ((side + 1) * (side + 1) <= max_pixels) ++side;
    return (side / patch_size) * (side / patch_size);
  }
  if (projector == "internvl" || projector == "llama4") return patch_size == 0 ? 0 : (image_size / patch_size) * (image_size / patch_size);
  // pixtral: 16 x 16 tokens too, with Mistral Small 3.1's 2 x 2 patch merger (measured only so).
  if (projector == "pixtral") return merge == 2 ? 32 * 32 : 0;
  if (projector == "qwen2.5vl_merger" || projector == "qwen3vl_merger") {
    return (46 * (merge == 0 ? 2 : merge)) * (46 * (merge == 0 ? 2 : merge));
  }
  return 0;
}

const ClipTower* llamacpp_mmproj_tower(const ModelSpec& model, const LlamaCppOptions& o) {
  if (!o.mmproj_projector.empty()) return o.mmproj_clip ? &*o.mmproj_clip : nullptr;
  return model.vision_clip ? &*model.vision_clip : nullptr;
}

std::expected<Dtype, Error> llamacpp_cache_type(std::string_view text) {
  const auto d = parse_dtype(text);
  if (d && engine_takes_kv(EngineKind::llamacpp, *d)) return *d;
  std::string known;
  for (Dtype k : engine_traits(EngineKind::llamacpp).kv_dtypes) known += (known.empty() ? "" : ", ") + std::string(ggml_type_name(k));
  return std::unexpected(Error{ErrorCode::invalid_argument, "llama.cpp has no '" + std::string(text) + "' cache type; it has " + known});
}

namespace {

// "2025-07-22", "2025-07" (the first of the month), "latest" -> YYYYMMDD (0: the newest).
std::optional<Error> llamacpp_version(std::string_view text, Settings& s) {
  const std::string t = to_lower(text);
  const std::optional<Error> bad = value_error("'" + std::string(text) +
                                "' is not a build date like 2025-07-22 or 2025-07 (llama-server --version prints the "
                                "build; its release page the date), or latest");
  if (t == "latest" || t == "newest") {
    s.engine_options.llamacpp.release = 0;
    return std::nullopt;
  }
  if (t.size() != 7 && t.size() != 10) return bad;
  if (t[4] != '-' || (t.size() == 10 && t[7] != '-')) return bad;
  bool digits_ok = true;
  const auto digits = [&](std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') digits_ok = false;
      else v = v * 10 + static_cast<std::uint32_t>(t[i] - '0');
    }
    return v;
  };
  const std::uint32_t year = digits(0, 4), month = digits(5, 2), day = t.size() == 10 ? digits(8, 2) : 1;
  if (!digits_ok || year < 2023 || month < 1 || month > 12 || day < 1 || day > 31) return bad;
  s.engine_options.llamacpp.release = year * 10000 + month * 100 + day;
  return std::nullopt;
}

std::optional<Error> flash_attn(std::string_view text, Settings& s) {
  const std::string f = to_lower(text);
  FlashAttn& fa = s.engine_options.llamacpp.flash_attn;
  if (f == "on" || f == "1" || f == "true") fa = FlashAttn::on;
  else if (f == "off" || f == "0" || f == "false") fa = FlashAttn::off;
  else if (f == "auto") fa = FlashAttn::automatic;
  else return value_error("'" + std::string(text) + "' is not on, off or auto");
  return std::nullopt;
}

std::optional<Error> n_gpu_layers(std::string_view text, Settings& s) {
  const std::string n = to_lower(text);
  if (n == "all" || n == "auto" || n == "-1") return std::nullopt;
  // llama.cpp takes 0 (every layer on the CPU) and -1 (all); other negatives are mistakes.
  if (n.starts_with("-")) {
    return value_error("'" + excerpt(n) +
                                            "' is negative; give a layer count (0 keeps every layer on the CPU), or -1, "
                                            "all or auto for every layer");
  }
  const auto v = parse_count(n, 1u << 20);
  if (!v && n == "0") {
    s.engine_options.llamacpp.n_gpu_layers = 0;
    return std::nullopt;
  }
  return read_into(s.engine_options.llamacpp.n_gpu_layers, v);
}

std::optional<Error> n_cpu_moe(std::string_view text, Settings& s) {
  // 0: none (llama-server's default); "all": every layer (--cpu-moe).
  const std::string n = to_lower(text);
  std::uint32_t& moe = s.engine_options.llamacpp.n_cpu_moe;
  if (n == "0") moe = 0;
  else if (n == "all") moe = 1u << 20;
  else return read_into(moe, parse_count(n, 1u << 20));
  return std::nullopt;
}

std::optional<Error> tensor_split(std::string_view text, Settings& s) {
  const auto parts = parse_list(text);
  if (!parts) return parts.error();
  std::vector<std::uint32_t>& split = s.engine_options.llamacpp.tensor_split;
  for (const std::string& part : *parts) {
    std::uint32_t share = 0;
    if (auto e = read_into(share, parse_count(part, 1u << 20))) return e;
    split.push_back(share);
  }
  std::uint32_t count = 0;
  for (const GpuRequest& g : s.gpus) count += std::max<std::uint32_t>(1, g.count);
  if (split.size() > count) {
    return value_error(std::to_string(split.size()) + " shares for " + std::to_string(count) + " GPU" +
                                            (count == 1 ? "" : "s"));
  }
  return std::nullopt;
}

std::optional<Error> llamacpp_app(std::string_view text, Settings& s) {
  const std::string a = to_lower(text);
  if (a == "server" || a == "llama-server") s.engine_options.llamacpp.server = true;
  else if (a == "library" || a == "cli" || a == "llama-cli") s.engine_options.llamacpp.server = false;
  else return value_error("'" + std::string(text) + "' is not server or library");
  return std::nullopt;
}

constexpr EngineOptionSpec llamacpp_options[] = {
    {"--cache-type-k,--ctk,--kv-k", "cache_type_k", "llama.cpp: K cache type (default: --kv, else f16)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.llamacpp.type_k, llamacpp_cache_type(t));
     }, 1},
    {"--cache-type-v,--ctv,--kv-v", "cache_type_v", "llama.cpp: V cache type (default: --kv, else f16)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.llamacpp.type_v, llamacpp_cache_type(t));
     }},
    {"--flash-attn,--fa", "flash_attn", "llama.cpp: flash attention on, off or auto (default auto: on)", false, true,
     flash_attn, 2},
    {"--kv-unified", "kv_unified", "llama.cpp: one KV cache shared by all sequences (llama-server without -np)", true,
     true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.llamacpp.kv_unified = t == "true";
       return std::nullopt;
     }},
    {"--swa-full", "swa_full", "llama.cpp: full-size caches for sliding-window layers", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.llamacpp.swa_full = t == "true";
       return std::nullopt;
     }},
    {"--batch-size", "batch_size", "llama.cpp: logical batch, tokens (-b; default 2048)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.llamacpp.n_batch, parse_count(t, 1u << 24));
     }},
    {"--ubatch-size", "ubatch_size", "llama.cpp: physical batch, tokens (-ub; default 512)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.llamacpp.n_ubatch, parse_count(t, 1u << 24));
     }},
    {"--n-gpu-layers,--ngl", "n_gpu_layers", "llama.cpp: layers on the GPUs, counting the output (default all)", false,
     true, n_gpu_layers, 3},
    {"--n-cpu-moe", "n_cpu_moe", "llama.cpp: keep the experts of the first N layers in system RAM", false, true,
     n_cpu_moe},
    {"--mmproj", "mmproj",
     "llama.cpp: the vision projector, its GGUF file (mmproj.gguf), or its type (f16, bf16, f32) or size (888MiB); on "
     "the first GPU", false,
     true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       LlamaCppOptions& o = s.engine_options.llamacpp;
       o.mmproj_dtype.reset();
       o.mmproj_size_bytes.reset();
       o.mmproj_file.clear();
       o.mmproj_tensors = 0;
       o.mmproj_projector.clear();
       o.mmproj_clip.reset();
       if (t.size() > 5 && iequals(t.substr(t.size() - 5), ".gguf")) {
         o.mmproj_file = std::string(t); // read by the application: its tensors' bytes become mmproj_size_bytes
         return std::nullopt;
       }
       if (t == "f16" || t == "bf16" || t == "f32") {
         o.mmproj_dtype = t == "f16" ? Dtype::f16 : t == "bf16" ? Dtype::bf16 : Dtype::f32;
         return std::nullopt;
       }
       auto size = parse_size(t);
       if (!size && !t.empty() && std::isdigit(static_cast<unsigned char>(t.front())) != 0) return size.error(); // a size, but a bad one
       if (!size) return value_error("'" + std::string(t) + "' is not a .gguf file, f16, bf16, f32 or a size like 888MiB");
       o.mmproj_size_bytes = *size;
       return std::nullopt;
     }},
    {"--no-mmproj-offload", "no_mmproj_offload", "llama.cpp: the vision projector in system RAM", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.llamacpp.no_mmproj_offload = t == "true";
       return std::nullopt;
     }},
    {"--no-kv-offload,--nkvo", "no_kv_offload", "llama.cpp: the KV cache in system RAM, attention on the CPU (-nkvo)",
     true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.llamacpp.no_kv_offload = t == "true";
       return std::nullopt;
     }},
    {"--tensor-split", "tensor_split", "llama.cpp: share of layers per GPU, e.g. 3,1 (default: by memory)", false, true,
     tensor_split},
    {"--llamacpp-version", "version",
     "llama.cpp: the build date whose behaviour to model, e.g. 2025-07 or 2025-07-22 (default: newest)", false, true,
     llamacpp_version},
    {"--llamacpp-app", "", "llama.cpp: server (llama-server, default) or library (llama-cli, bindings, Ollama, LM Studio)",
     false, true, llamacpp_app},
    {"--spec-type", "spec_type",
     "llama.cpp: speculative decoding types: draft-mtp drafts with the model's own MTP layers, or with --draft an MTP "
     "drafter GGUF (from 2026-05-15), draft-simple with --draft, none",
     false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       const std::string v = to_lower(t);
       LlamaCppOptions& l = s.engine_options.llamacpp;
       for (const std::string& type : parse_list(v).value_or(std::vector<std::string>{v})) {
         if (type == "draft-mtp") l.spec_mtp = true;
         else if (type == "draft-simple") l.spec_simple = true; // the draft model of --draft
         else if (type != "none")
           return value_error("'" + excerpt(type) + "' is not modelled; vramcalc models draft-mtp, draft-simple (with "
                                                   "--draft) and none");
       }
       return std::nullopt;
     }},
    {"--draft-max,--spec-draft-n-max", "draft_max",
     "llama.cpp: draft tokens per sequence of speculative decoding (default 0; 16 with a draft model, 3 with draft-mtp)",
     false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t == "0") return std::nullopt;
       return read_into(s.engine_options.llamacpp.n_draft, parse_count(t, 1u << 16));
     }},
    {"--gpu-layers-draft,--ngld,--n-gpu-layers-draft", "n_gpu_layers_draft",
     "llama.cpp: the draft model's layers on the GPUs (-ngld; default all)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       LlamaCppOptions& l = s.engine_options.llamacpp;
       const std::optional<std::uint32_t> keep = l.n_gpu_layers; // -ngl's own, read with the same parser
       l.n_gpu_layers.reset();
       auto e = n_gpu_layers(t, s);
       l.n_gpu_layers_draft = l.n_gpu_layers;
       l.n_gpu_layers = keep;
       return e;
     }},
    {"--cache-type-k-draft,--ctkd", "cache_type_k_draft", "llama.cpp: the draft model's K cache type (-ctkd; default f16)",
     false, true,
     [](std::string_view t, Settings& s) { return read_into(s.engine_options.llamacpp.type_k_draft, llamacpp_cache_type(t)); }},
    {"--cache-type-v-draft,--ctvd", "cache_type_v_draft", "llama.cpp: the draft model's V cache type (-ctvd; default f16)",
     false, true,
     [](std::string_view t, Settings& s) { return read_into(s.engine_options.llamacpp.type_v_draft, llamacpp_cache_type(t)); }},
    {"--ctx-size-draft,--cd", "ctx_size_draft",
     "llama.cpp: the draft model's context per slot (-cd; default the model's context per slot)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.llamacpp.n_ctx_draft, parse_tokens(t));
     }},
};

} // namespace

std::span<const EngineOptionSpec> llamacpp_option_specs() { return llamacpp_options; }

} // namespace vramcalc
