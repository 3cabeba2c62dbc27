// Private to the core: count_params(), weight_bytes() and file_bytes() over a tensor list
// and storage the caller already has. PreparedWeights builds the list and its storage once
// and derives all three (and the tensor-parallel tables) from them; the public functions
// build their own and call the same code, so both paths give the same bytes.
#pragma once

#include "vramcalc/format.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/tensors.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vramcalc::detail {

// `tensors`: model_tensors(spec, true), MTP blocks included. `times` (empty: 1 each): how
// many tensors each stands for (LayerRepeats::times; a prefix of the list may be given).
[[nodiscard]] ParamCounts count_params(const ModelSpec& spec, std::span<const Tensor> tensors,
                                       std::span<const std::uint64_t> times = {});

// Whether the weights leave out the vision tower (a GGUF holds the language model only).
[[nodiscard]] bool weights_drop_vision(const WeightFormat& format);

// `tensors`: what the weights hold (no MTP block; no vision tower when weights_drop_vision);
// `storage`: theirs.
[[nodiscard]] WeightBytes weight_bytes(std::span<const Tensor> tensors, std::span<const TensorStorage> storage,
                                       const WeightFormat& format, std::span<const std::uint64_t> times = {});

// A GGUF file of `tensors` (the weights' list) with `storage`: the tensor infos' bytes
// (which do not depend on the format), then the file.
[[nodiscard]] std::uint64_t gguf_tensor_info_bytes(const Tensor& t);
[[nodiscard]] std::uint64_t gguf_tensor_infos_bytes(std::span<const Tensor> tensors);
[[nodiscard]] std::uint64_t gguf_file_bytes(const ModelSpec& spec, std::uint64_t infos_bytes,
                                            std::span<const TensorStorage> storage);

// A safetensors checkpoint of `tensors` (model_tensors(spec, true)) with `storage`.
[[nodiscard]] std::uint64_t safetensors_file_bytes(const ModelSpec& spec, const WeightFormat& format,
                                                   std::span<const Tensor> tensors,
                                                   std::span<const TensorStorage> storage);

// GGUF: each tensor's type as the llama.cpp mix chooses it, before the fallback for row
// lengths the type's block does not divide; and the storage of a tensor given that choice.
// The choice depends on the tensor's place in the list and on little of its shape: a
// tensor-parallel shard keeps its choice when gguf_choice_holds(whole, shard).
[[nodiscard]] std::vector<Dtype> gguf_types_chosen(const ModelSpec& spec, std::span<const Tensor> tensors,
                                                   const WeightFormat& format);
[[nodiscard]] TensorStorage gguf_storage_as(const Tensor& t, Dtype choice);
[[nodiscard]] bool gguf_choice_holds(const Tensor& unsharded, const Tensor& sharded);

// The storage of one tensor in a format that decides each tensor on its own (any kind but
// gguf).
[[nodiscard]] TensorStorage storage_of(const ModelSpec& spec, const Tensor& t, const WeightFormat& format);

// The length of Tensor::gguf_name() without building it.
[[nodiscard]] std::size_t gguf_name_size(const Tensor& t);

} // namespace vramcalc::detail
