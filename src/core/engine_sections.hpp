// The engines' part of an estimate, private to the core: each engine plans the first
// requested GPU type into its EngineSection alternative and decides that GPU's fit row
// (declared in its header, engine_<id>.hpp). engines.cpp dispatches through engine_table's
// function pointers and, on the section, by overload.
#pragma once

#include "vramcalc/estimate.hpp"
#include "vramcalc/headroom.hpp"

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>

namespace vramcalc::detail {

// An engine's section as every engine starts it: its release, the GPU type it planned, its
// layout (tp x pp) and the context and batch it was asked for (its own where it chooses them).
inline EngineSection section_head(std::string version, const GpuSpec& gpu, std::uint32_t tp, std::uint32_t pp,
                                  std::uint64_t context_tokens, std::uint64_t batch) {
  EngineSection e;
  e.version = std::move(version);
  e.gpu = gpu.id;
  e.gpu_name = gpu.name;
  e.tp = tp;
  e.pp = pp;
  e.context_tokens = context_tokens;
  e.batch = batch;
  return e;
}

// The fit row of an engine that sizes from a budget (vLLM, SGLang, TensorRT-LLM): on its tp x pp
// GPUs it may use `usable_bytes` and needs `required_bytes` per GPU, of which the weights and
// the KV of the requests asked; the rest of what it needs is overhead.
inline void budget_fit_row(FitRow& row, const EngineSection& common, std::uint64_t usable_bytes,
                           std::uint64_t required_bytes, std::uint64_t weights_bytes, std::uint64_t kv_bytes) {
  row.usable_bytes = usable_bytes;
  row.required_bytes_per_gpu = required_bytes;
  row.headroom_bytes = headroom_bytes(usable_bytes, required_bytes);
  row.tp = common.tp;
  row.pp = common.pp;
  row.count = common.tp * common.pp;
  row.busiest_weights_bytes = weights_bytes;
  row.busiest_kv_bytes = kv_bytes;
  row.busiest_state_bytes = 0;
  row.overhead_bytes = required_bytes - weights_bytes - kv_bytes;
}

// One of a checkpoint's MTP blocks as a layer (the engines' model_tensors: one full-attention
// layer of the model's attention, MoE when the model is), for vLLM's and llama.cpp's MTP drafting.
inline LayerSpec mtp_block_layer(const ModelSpec& spec) {
  LayerSpec l;
  l.num_kv_heads = spec.attention.num_kv_heads;
  l.head_dim_k = spec.attention.head_dim;
  l.head_dim_v = spec.attention.v_head_dim;
  l.moe = spec.moe.has_value();
  return l;
}

// The GPU families the engines' kernel choices turn on, by catalog id (gpus.json holds no compute
// capability): SM90 (H100, H200, H20, GH200) and SM100 (B200, GB200, B300).
inline bool gpu_is_sm90(const GpuSpec& gpu) {
  for (const char* id : {"h100", "h200", "h20", "gh200"}) if (gpu.id.find(id) != std::string::npos) return true;
  return false;
}
inline bool gpu_is_sm100(const GpuSpec& gpu) {
  for (const char* id : {"b200", "b300", "gb200"}) if (gpu.id.find(id) != std::string::npos) return true;
  return false;
}

// The checkpoint's MTP blocks on one GPU of tensor-parallel `p.tp` (src/core/engine_vllm.cpp):
// per block the decoder layer (sharded and quantized as the model's), enorm, hnorm, eh_proj
// (2h x h, unsharded, the model's dtype) and shared_head's norm, with its own head when
// `own_head` and the checkpoint stores one; the embedding is the target's.
std::uint64_t mtp_layers_bytes(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, bool own_head);

// The bytes of one GPU's shards `tensors` of `spec` in `format` (a GGUF's in the runtime dtype
// it is loaded in: src/core/engine_vllm.cpp), as the weight rules store them.
std::uint64_t shards_bytes(const ModelSpec& spec, std::span<const Tensor> tensors, const WeightFormat& format);

// engines.cpp: the engine of `settings` (not generic), `layout` the fit row's parallelism.
EngineSection engine_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// The engine's fit row for the GPU it planned: its verdict, needs and headroom.
void engine_decide(FitRow& row, const EngineSection& e, std::uint64_t batch);
// The most GPUs of one type the engine can use for `model` (the fewest-count search's bound).
std::uint32_t engine_most_gpus(EngineKind engine, const ModelSpec& model);

} // namespace vramcalc::detail
