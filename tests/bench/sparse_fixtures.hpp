// Large sparse checkpoints for the header benchmarks (bench_headers.cpp) and for the
// whole-process measurements (write_files.cpp, process.sh): the header is real, the tensor
// data region is a hole (truncate), so a "100 GB" checkpoint takes a few megabytes of disk.
//
// Both sizes have the same header structure: a Llama-3-70B-like stack of 80 layers and a
// 128,256-token vocabulary; only the widths differ (hidden 8,192 / ff 18,432 make 100 GB of
// bf16, hidden 1,024 / ff 256 make 1 GB). Integers in a GGUF header have fixed widths, and
// each safetensors shard's JSON is padded with spaces to the same length at both sizes, so
// the headers have the same length: a comparison of the two is one of file size alone.
#pragma once

#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace vramcalc::bench {

using namespace vramcalc::test;

struct Shape {
  std::uint64_t layers = 80, hidden, heads = 64, kv_heads = 8, ff, vocab = 128256;
  [[nodiscard]] std::uint64_t head_dim() const { return hidden / heads; }
};
// `large`: the widths that make 100 GB of bf16, else 1 GB.
inline Shape shape(bool large) { return large ? Shape{.hidden = 8192, .ff = 18432} : Shape{.hidden = 1024, .ff = 256}; }

// Writes `header`, then extends the file to `size` bytes without writing them (a hole).
inline void write_sparse(const std::filesystem::path& path, const std::string& header, std::uint64_t size) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << header;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) throw std::runtime_error("truncate " + path.string());
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

struct Written {
  std::string path;         // the GGUF file, or the safetensors index
  std::uint64_t size = 0;   // file bytes (all shards)
  std::uint64_t header = 0; // header bytes (all shards)
};

// A single-file GGUF of a Llama 3 70B-like model at `path`: general and llama.* metadata, a
// byte-level BPE tokenizer the size of Llama 3's (128,256 tokens and 280,147 merges, most of a
// real header's bytes, as in real Llama 3 files), 723 bf16/f32 tensor infos, then the hole.
inline Written write_gguf(const std::filesystem::path& path, bool large) {
  const Shape s = shape(large);
  GgufWriter w;
  w.str("general.architecture", "llama").str("general.name", "sparse bench model");
  w.u32("llama.block_count", static_cast<std::uint32_t>(s.layers)).u32("llama.context_length", 131072);
  w.u32("llama.embedding_length", static_cast<std::uint32_t>(s.hidden));
  w.u32("llama.feed_forward_length", static_cast<std::uint32_t>(s.ff));
  w.u32("llama.attention.head_count", static_cast<std::uint32_t>(s.heads));
  w.u32("llama.attention.head_count_kv", static_cast<std::uint32_t>(s.kv_heads));
  w.u32("llama.rope.dimension_count", static_cast<std::uint32_t>(s.head_dim()));
  w.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.u32("general.file_type", 32).u32("llama.vocab_size", static_cast<std::uint32_t>(s.vocab));
  std::vector<std::string> tokens, merges;
  tokens.reserve(s.vocab);
  merges.reserve(280147);
  for (std::uint64_t i = 0; i < s.vocab; ++i) tokens.push_back("tok" + std::to_string(i));
  for (std::uint64_t i = 0; i < 280147; ++i) merges.push_back("m" + std::to_string(i) + " x");
  w.str("tokenizer.ggml.model", "gpt2").arr_str("tokenizer.ggml.tokens", tokens).arr_str("tokenizer.ggml.merges", merges);
  add_llama_tensors(w, s.layers, s.hidden, s.heads, s.kv_heads, s.ff, s.vocab, g_bf16);
  const std::string header = w.header();
  // GgufWriter::bytes() would materialize the data: the size is the padded header plus each
  // tensor padded, in add_llama_tensors' order (norms f32, the rest bf16).
  const std::uint64_t hd = s.head_dim();
  std::vector<std::uint64_t> bytes{s.hidden * s.vocab * 2};
  for (std::uint64_t i = 0; i < s.layers; ++i) {
    for (const std::uint64_t b : {s.hidden * 4, s.hidden * s.heads * hd * 2, s.hidden * s.kv_heads * hd * 2,
                                  s.hidden * s.kv_heads * hd * 2, s.heads * hd * s.hidden * 2, s.hidden * 4,
                                  s.hidden * s.ff * 2, s.hidden * s.ff * 2, s.ff * s.hidden * 2}) {
      bytes.push_back(b);
    }
  }
  bytes.push_back(s.hidden * 4);
  bytes.push_back(s.hidden * s.vocab * 2);
  std::uint64_t size = w.pad(header.size());
  for (const std::uint64_t b : bytes) size += w.pad(b);
  write_sparse(path, header, size);
  return {path.string(), size, header.size()};
}

inline constexpr int shards = 10;

// The JSON header of shard `k` (0-based) of a 10-shard Hugging Face Llama checkpoint: the
// embedding with the first layers, 8 layers per shard, the final norm and head in the last.
inline SafetensorsWriter shard_writer(const Shape& s, int k, std::vector<std::string>* names) {
  SafetensorsWriter w;
  w.metadata("format", "pt");
  const std::uint64_t hd = s.head_dim();
  auto add = [&](const std::string& name, std::vector<std::uint64_t> dims) {
    w.tensor(name, "BF16", std::move(dims), 16);
    if (names != nullptr) names->push_back(name);
  };
  if (k == 0) add("model.embed_tokens.weight", {s.vocab, s.hidden});
  const std::uint64_t per = s.layers / shards;
  for (std::uint64_t i = per * static_cast<std::uint64_t>(k); i < per * static_cast<std::uint64_t>(k + 1); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {s.hidden});
    add(p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden});
    add(p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden});
    add(p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden});
    add(p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd});
    add(p + "post_attention_layernorm.weight", {s.hidden});
    add(p + "mlp.gate_proj.weight", {s.ff, s.hidden});
    add(p + "mlp.up_proj.weight", {s.ff, s.hidden});
    add(p + "mlp.down_proj.weight", {s.hidden, s.ff});
  }
  if (k == shards - 1) {
    add("model.norm.weight", {s.hidden});
    add("lm_head.weight", {s.vocab, s.hidden});
  }
  return w;
}

// A 10-shard checkpoint in directory `dir` (created if missing), named as Hugging Face names
// it: model-0000K-of-00010.safetensors, model.safetensors.index.json and the config.json
// that `vramcalc DIR` reads for the architecture. Returns the index's path.
inline Written write_safetensors_dir(const std::filesystem::path& dir, bool large) {
  std::filesystem::create_directories(dir);
  const Shape s = shape(large);
  Written f;
  std::string map;
  std::uint64_t total = 0;
  for (int k = 0; k < shards; ++k) {
    std::vector<std::string> names;
    const SafetensorsWriter w = shard_writer(s, k, &names);
    // Both sizes' headers padded to the same length (spaces, as the reference writer pads).
    const std::uint64_t len = std::max(shard_writer(shape(true), k, nullptr).json().size(),
                                       shard_writer(shape(false), k, nullptr).json().size());
    std::string json = w.json();
    json.append(static_cast<std::size_t>((len + 7) / 8 * 8 - json.size()), ' ');
    std::string header;
    for (int i = 0; i < 8; ++i) header += static_cast<char>((json.size() >> (8 * i)) & 0xff);
    header += json;
    char file[64];
    std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", k + 1, shards);
    const std::uint64_t size = header.size() + w.data_bytes();
    write_sparse(dir / file, header, size);
    for (const std::string& n : names) map += (map.empty() ? "\"" : ",\"") + n + "\":\"" + file + "\"";
    total += w.data_bytes();
    f.size += size;
    f.header += header.size();
  }
  f.path = (dir / "model.safetensors.index.json").string();
  write_text(f.path, "{\"metadata\":{\"total_size\":" + std::to_string(total) + "},\"weight_map\":{" + map + "}}");
  write_text(dir / "config.json",
             "{\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":" +
                 std::to_string(s.hidden) + ",\"num_hidden_layers\":" + std::to_string(s.layers) +
                 ",\"intermediate_size\":" + std::to_string(s.ff) + ",\"num_attention_heads\":" +
                 std::to_string(s.heads) + ",\"num_key_value_heads\":" + std::to_string(s.kv_heads) +
                 ",\"vocab_size\":" + std::to_string(s.vocab) +
                 ",\"max_position_embeddings\":131072,\"torch_dtype\":\"bfloat16\",\"tie_word_embeddings\":false,"
                 "\"rms_norm_eps\":1e-5}");
  return f;
}

} // namespace vramcalc::bench
