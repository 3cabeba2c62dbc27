// What an estimate found: the data every renderer (table, JSON) draws from.
#pragma once

#include "vramcalc/engine.hpp"
#include "vramcalc/images.hpp"
#include "vramcalc/price.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace vramcalc {

struct ModelSummary {
  std::string id;
  std::string name;
  std::string family;
  std::uint64_t params_total = 0;
  std::uint64_t params_active = 0;
  std::uint64_t params_vision = 0; // vision tower, not in params_total
  std::uint64_t params_mtp = 0;    // multi-token-prediction blocks, not in params_total
  bool moe = false;
  std::uint64_t num_layers = 0;
  std::uint64_t num_heads = 0;
  std::uint64_t num_kv_heads = 0;
  std::uint64_t head_dim = 0;
  std::uint64_t v_head_dim = 0;
  std::uint64_t hidden_size = 0;
  std::uint64_t max_context = 0;
  std::string attention; // "full", "MLA (latent 512+64)", "24 sliding(4096) + 24 full"
  std::string dtype;
};

struct SettingsSummary {
  std::string quant;       // format id
  std::string quant_description;
  std::string kv_dtype;    // dtype name
  std::string kv_display;  // "fp8 (e4m3)"
  std::uint64_t context_tokens = 0;
  std::uint64_t batch = 1;
  std::uint64_t overhead_bytes = 0;
  // Where the format and the context came from (set by the command line; empty: not said):
  // quant_source flag, file, config, catalog, repo name or default; context_source flag,
  // checkpoint or model. checkpoint: the hub name of the checkpoint sized ("" for none).
  std::string quant_source;
  std::string context_source;
  std::string checkpoint;
};

struct WeightGroup {
  std::string group;
  std::string dtypes;
  std::uint64_t params = 0;
  std::uint64_t bytes = 0;
};

// The KV cache of the layers that hold the same tokens: one kind of attention (full, window:
// sliding, chunked: chunked local, latent: MLA's full-context latent), its layers, and
// bytes = bytes_per_token x tokens_held x sequences.
struct KvGroup {
  std::string kind;                  // "full", "window", "chunked", "latent"
  std::uint64_t layers = 0;
  std::uint64_t window_tokens = 0;   // window or chunk (0: full context)
  std::uint64_t bytes_per_token = 0; // all the group's layers, one token of one sequence
  std::uint64_t tokens_held = 0;     // per sequence
  std::uint64_t bytes = 0;           // all sequences
};

// Speculative decoding's draft model (--draft): what it adds to the whole deployment.
struct DraftSummary {
  std::string model;            // as named
  std::string quant;            // its weight format
  std::uint64_t weights_bytes = 0;
  std::uint64_t kv_cache_bytes = 0; // its KV cache (and state) for the same context and sequences
};

struct MemorySummary {
  std::uint64_t weights_bytes = 0;
  std::uint64_t file_bytes = 0;     // predicted checkpoint / GGUF file size in this format
  std::vector<WeightGroup> weights_by_group;
  std::uint64_t kv_cache_bytes = 0;
  std::uint64_t kv_bytes_per_token = 0;
  std::vector<KvGroup> kv_groups;   // sums to kv_cache_bytes
  std::uint64_t state_bytes = 0;    // recurrent state of all sequences (hybrid / SSM models)
  std::optional<std::uint64_t> kv_naive_bytes;
  std::string kv_policy;            // the eviction policy applied ("" for none)
  std::uint64_t overhead_bytes = 0; // one GPU's
  std::uint64_t total_bytes = 0;    // weights + KV + state + one GPU's overhead (+ the draft's)
  std::optional<DraftSummary> draft; // --draft: the draft model's weights and KV cache
};

struct FitRow {
  std::string gpu;      // id
  std::string gpu_name;
  std::string gpu_segment;    // datacenter, workstation, consumer, mac (GpuSpec::segment; not in JSON)
  std::uint64_t gpu_memory_bytes = 0;
  double gpu_bandwidth_gb_per_s = 0;
  std::optional<double> gpu_bf16_tflops;
  bool requested = false;     // the user named this GPU
  std::uint32_t count = 0;    // GPUs in this configuration
  std::uint32_t tp = 1;       // tensor-parallel GPUs (count = tp x pp)
  std::uint32_t pp = 1;       // pipeline stages
  bool fits = false;
  std::uint64_t usable_bytes = 0;            // per GPU
  std::uint64_t required_bytes_per_gpu = 0;  // the busiest GPU's weights + KV + state + overhead
  std::int64_t headroom_bytes = 0;           // usable - required (negative: short by)
  std::uint32_t min_count = 0;               // smallest count that fits, 0 if none <= 1024
  std::string problem;                       // why this layout cannot be used (empty: it can)
  // Who decided `fits` (and min_count): "generic" (the model's own needs) or, for the
  // requested GPU an engine was planned for, "vllm" / "llamacpp": then fits is the engine's
  // verdict, required / headroom are the engine's figures (docs/json-output.md) and
  // min_count the fewest GPUs the engine fits on.
  std::string decided_by = "generic";
  // The busiest GPU's parts (not in JSON; for the bars): weights, KV cache, state, overhead.
  std::uint64_t busiest_weights_bytes = 0, busiest_kv_bytes = 0, busiest_state_bytes = 0, overhead_bytes = 0;
  // Upper bounds (docs/speed.md): decode limited by memory bandwidth, prefill by dense TFLOPS.
  std::optional<double> decode_tokens_per_s;           // per sequence
  std::optional<double> aggregate_decode_tokens_per_s; // all sequences
  std::optional<double> prefill_seconds;               // one sequence's whole context
  // The cheapest listed way to rent this layout (Settings::prices; docs/prices.md), and what
  // it costs per million output tokens at the aggregate decode bound: a floor on the cost.
  std::optional<Offer> cost;
  std::optional<double> usd_per_million_output_tokens;
};

// Answers to the inverse questions (--max-ctx, --max-batch, --fit-quant).
struct Limits {
  std::optional<std::uint64_t> max_context_tokens;
  std::optional<std::uint64_t> max_batch;
  std::optional<std::string> best_quant;
  bool asked_context = false, asked_batch = false, asked_quant = false;
};

// A deployment's verdict in its engine's terms (vramcalc check; each engine's engine_verdict):
// what it needs per GPU, what is left, whether it fits (before the headroom asked), and why,
// in a sentence; an engine that splits layers its own way says how many GPUs it used.
struct EngineVerdict {
  bool fits = false;
  std::uint64_t required_bytes_per_gpu = 0;
  std::int64_t headroom_bytes = 0;
  std::string why;
  std::optional<std::uint32_t> count;
  std::string headroom_name = "headroom"; // what the headroom is, in its terms
};

// What a serving engine would do (present with --engine and an engine's id): what every
// engine says, and its own account as one alternative per engine (EngineDetail, engine.hpp:
// in EngineKind order, generic aside), which the renderers visit.
struct EngineSection {
  std::string version;       // the release whose behaviour is modelled
  std::string gpu;           // GPU id it was planned for
  std::string gpu_name;
  std::uint32_t tp = 1, pp = 1;
  std::uint64_t context_tokens = 0; // max_model_len (vLLM) / context per sequence (llama.cpp)
  std::uint64_t batch = 1;
  bool fits = false;         // it starts, and holds `batch` requests at full length
  std::vector<std::string> notes;
  EngineDetail detail;
  // Host memory (system RAM) the engine needs beside the GPUs, all its processes together:
  // vLLM's offloaded weights (pinned), llama.cpp's CPU-resident weights, KV and buffers.
  std::uint64_t host_bytes = 0;
  std::string host_what;                  // what it is made of, in words ("" when nothing)
  std::optional<std::uint64_t> host_mem_bytes; // --host-mem / host_mem: the host's memory, when given
  bool host_fits = true;                  // host_bytes <= host_mem_bytes (true when none given)
  bool gpu_fits = false;                  // `fits` on the GPUs alone, before the host's memory is checked

  [[nodiscard]] EngineKind kind() const {
    // Alternatives in EngineKind order, generic aside.
    return static_cast<EngineKind>(detail.index() + 1);
  }
  [[nodiscard]] std::string_view name() const { return engine_traits(kind()).id; }
};

struct Report {
  ModelSummary model;
  SettingsSummary settings;
  MemorySummary memory;
  std::vector<FitRow> fit;
  std::optional<EngineSection> engine;
  std::optional<Limits> limits;
  std::optional<ImagesWorkload> images; // --images N: the images each request carries
  std::vector<std::string> suggestions; // what would fit, when the requested GPUs do not
  std::vector<std::string> notes;
};

// `vramcalc inspect`: what a model's files hold.
struct InspectGroup {
  std::string group;          // tensor group name ("attention", "other")
  std::uint64_t tensors = 0;  // stored tensors (scales and zeros count)
  std::string types;          // storage types ("q4_k+q6_k", "I32+F16")
  std::uint64_t params = 0;   // parameters of the model tensors (stored elements for "other")
  std::uint64_t bytes = 0;
};

struct InspectReport {
  std::string kind;                                       // "gguf" or "safetensors"
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string>> facts; // format version, alignment, ...
  ModelSummary model;
  std::string arch;
  std::uint64_t vocab_size = 0;
  std::string kv_dtype;                                   // the KV size below is for this dtype
  std::uint64_t kv_bytes_per_token = 0;
  std::uint64_t state_bytes_per_sequence = 0;
  std::vector<InspectGroup> groups;
  std::uint64_t tensor_count = 0;
  std::uint64_t tensor_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::vector<std::string> unmatched;                     // names of tensors not recognised
  std::uint64_t missing_count = 0;                        // model tensors the files lack
  std::vector<std::string> warnings;
};

// `vramcalc check`: one verdict per deployment.
enum class CheckStatus : std::uint8_t { fits, does_not_fit };

// (detail::terminal_view copies every field but `report` for the text formats: a new field
// goes there too.)
struct CheckEntry {
  std::string name;
  std::string file;                    // the deployment file, or "--vllm" / "--llama-server"
  std::string where;                   // "deploy.yaml:4:5" (empty for command lines)
  std::size_t index = 0;               // position in its file
  CheckStatus status = CheckStatus::fits;
  std::string message;                 // one-line verdict
  std::string gpu, gpu_name;
  std::uint32_t count = 0, tp = 1, pp = 1;
  std::string engine;                  // generic, vllm, llamacpp
  std::uint64_t required_bytes_per_gpu = 0; // the busiest GPU's needs (vLLM: its memory request)
  std::uint64_t usable_bytes = 0;      // per GPU
  std::int64_t headroom_bytes = 0;     // what is left free (vLLM: KV memory beyond `batch` full requests)
  std::uint64_t required_headroom_bytes = 0;
  std::vector<std::string> ignored;    // engine command-line flags not modelled
  // Where it was read: a manifest's workloads name their kind ("Deployment", "compose
  // service", "vLLM config"; empty for deployment files and command lines), the line and the
  // path of the container, and what was read from where.
  std::string kind;
  std::uint64_t line = 0, column = 0;
  std::string path;
  std::vector<std::string> notes;
  Report report;
};

// A manifest's workload that was not checked, and why (no GPU, not an engine vramcalc models,
// the vramcalc/skip annotation).
struct CheckSkipped {
  std::string name;
  std::string file;
  std::uint64_t line = 0;
  std::string reason;
  std::string kind;
  bool workload = true; // false: an object that runs nothing (a Service, a ConfigMap)
};

struct CheckReport {
  std::vector<std::string> files;
  std::vector<CheckEntry> entries;
  std::vector<CheckSkipped> skipped;
  [[nodiscard]] bool ok() const {
    for (const CheckEntry& e : entries) {
      if (e.status != CheckStatus::fits) return false;
    }
    return true;
  }
};

} // namespace vramcalc
