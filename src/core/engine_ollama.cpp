// Ollama's rules, each with the file, function and release of github.com/ollama/ollama it
// comes from (docs/engines.md, "Ollama").
#include "vramcalc/engine_ollama.hpp"

#include "vramcalc/engine.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"

#include <algorithm>
#include <array>

namespace vramcalc {

namespace {

constexpr OllamaRelease rel(std::uint32_t a, std::uint32_t b, std::uint32_t c) { return {a, b, c}; }

bool contains(std::initializer_list<std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// The llama.cpp each release runs. Up to v0.29 Ollama vendors llama.cpp (llama/vendoring,
// Makefile.sync); the date is that of Ollama's sync commit (the llama.cpp code is of that day
// or older). From v0.30.0 (9db4bdbad "runner: Remove CGO engines, use llama-server
// exclusively") it launches the llama-server build named in LLAMA_CPP_VERSION.
struct LlamaCppPin {
  OllamaRelease first;
  std::uint32_t date;
  std::string_view build;
};
constexpr std::array<LlamaCppPin, 25> llamacpp_pins{{
    {rel(0, 5, 0), 20241204, "3f1ae2e3"},   // LLAMACPP_BASE_COMMIT at v0.5.0 (the release's date)
    {rel(0, 6, 0), 20250226, "d7cfe1ff"},   // d7d7e9966 (#9356)
    {rel(0, 7, 0), 20250512, "de4c07f9"},   // 0cefd46f2 (#10655)
    {rel(0, 11, 5), 20250814, "1a19df1f"},  // 1a19df1f3 (#11823) "update vendored llama.cpp and ggml"
    {rel(0, 12, 4), 20251002, "b6646"},     // c68f367ef (#12245)
    {rel(0, 12, 11), 20251106, "b6840"},    // 544b6739d (#12791)
    {rel(0, 13, 2), 20251203, "b7108"},     // 0cf7794b1 (#12992)
    {rel(0, 13, 5), 20251217, "ec98e2002"}, // 49a9c9ba6 (#13451)
    {rel(0, 30, 0), 20260601, "b9452"},     // LLAMA_CPP_VERSION from here on
    {rel(0, 30, 1), 20260602, "b9479"},
    {rel(0, 30, 4), 20260603, "b9493"},
    {rel(0, 30, 5), 20260604, "b9509"},
    {rel(0, 30, 9), 20260614, "b9626"},
    {rel(0, 30, 10), 20260616, "b9672"},
    {rel(0, 30, 11), 20260624, "b9781"},
    {rel(0, 31, 0), 20260629, "b9840"},
    {rel(0, 31, 2), 20260706, "b9888"},
    {rel(0, 32, 2), 20260720, "b10069"},
    {rel(0, 32, 3), 20260722, "b10091"},
    {rel(0, 32, 6), 20260804, "b10242"},
    {rel(0, 32, 8), 20260810, "b10353"},
    {rel(0, 32, 10), 20260812, "b10380"},
    {rel(0, 32, 14), 20260814, "b10434"},
    {rel(0, 32, 15), 20260818, "b10488"},
    {rel(0, 33, 0), 20260818, "b10488"},
}};

const LlamaCppPin& pin_of(OllamaRelease r) {
  const LlamaCppPin* found = &llamacpp_pins.front();
  for (const LlamaCppPin& p : llamacpp_pins) {
    if (p.first <= r) found = &p;
  }
  return *found;
}

Error env_error(std::string_view key, const std::string& what) {
  return Error{ErrorCode::invalid_argument, "--ollama-env: " + std::string(key) + ": " + what};
}

// A Go strconv.ParseUint value, as envconfig.Uint reads it: digits only, 0 allowed.
std::expected<std::uint64_t, Error> parse_uint(std::string_view key, std::string_view v, std::uint64_t limit) {
  if (!v.empty() && v.find_first_not_of('0') == std::string_view::npos) return 0;
  auto n = parse_count(v, limit);
  if (!n) return std::unexpected(env_error(key, n.error().message));
  return *n;
}

} // namespace

std::expected<OllamaRelease, Error> parse_ollama_release(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return std::unexpected(Error{ErrorCode::invalid_argument,
                                 "Ollama release '" + std::string(text.substr(0, 40)) + "': " + why});
  };
  std::string_view t = text;
  if (t.starts_with('v')) t.remove_prefix(1);
  if (const std::size_t dash = t.find("-rc"); dash != std::string_view::npos) {
    const std::string_view rc = t.substr(dash + 3);
    if (rc.empty() || rc.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad("expected major.minor.patch with an optional -rcN");
    }
    t = t.substr(0, dash);
  }
  std::array<std::uint32_t, 3> parts{};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t end = i < 2 ? t.find('.') : t.size();
    if (end == std::string_view::npos) return bad("expected major.minor.patch, such as 0.12.4");
    const std::string_view p = t.substr(0, end);
    if (p.empty() || p.size() > 4 || p.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad("expected major.minor.patch, such as 0.12.4");
    }
    for (char c : p) parts[i] = parts[i] * 10 + static_cast<std::uint32_t>(c - '0');
    t.remove_prefix(std::min(end + 1, t.size()));
  }
  const OllamaRelease r{parts[0], parts[1], parts[2]};
  if (r < ollama_oldest) {
    return bad("vramcalc models Ollama from " + ollama_release_name(ollama_oldest) +
               " (the first release with OLLAMA_KV_CACHE_TYPE)");
  }
  return r;
}

std::string ollama_release_name(OllamaRelease r) {
  return std::to_string(r.major) + "." + std::to_string(r.minor) + "." + std::to_string(r.patch);
}

std::expected<OllamaEnv, Error> parse_ollama_env(std::string_view text) {
  OllamaEnv env;
  std::vector<std::string> seen;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    if (i >= text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    const std::string key(text.substr(start, i - start));
    if (i >= text.size() || text[i] != '=') {
      return std::unexpected(Error{ErrorCode::invalid_argument,
                                   "--ollama-env: '" + key.substr(0, 60) + "' is not KEY=VALUE"});
    }
    ++i;
    std::string value;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      const char q = text[i++];
      const std::size_t close = text.find(q, i);
      if (close == std::string_view::npos) return std::unexpected(env_error(key, "unterminated quote"));
      value = std::string(text.substr(i, close - i));
      i = close + 1;
    } else {
      const std::size_t vs = i;
      while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') ++i;
      value = std::string(text.substr(vs, i - vs));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return std::unexpected(env_error(key, "given twice"));
    seen.push_back(key);

    if (key == "OLLAMA_CONTEXT_LENGTH") {
      auto n = parse_uint(key, value, max_context_tokens);
      if (!n) return std::unexpected(n.error());
      env.context_length = *n;
    } else if (key == "OLLAMA_NUM_PARALLEL") {
      auto n = parse_uint(key, value, 4096);
      if (!n) return std::unexpected(n.error());
      env.num_parallel = *n;
    } else if (key == "OLLAMA_KV_CACHE_TYPE") {
      // kvCacheTypeFromStr (llama/llama.go) and SupportsKVCacheType (fs/ggml/ggml.go): f16,
      // q8_0, q4_0; an empty value is f16.
      std::string v = value;
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (v.empty() || v == "f16") env.kv_cache_type = Dtype::f16;
      else if (v == "q8_0") env.kv_cache_type = Dtype::q8_0;
      else if (v == "q4_0") env.kv_cache_type = Dtype::q4_0;
      else return std::unexpected(env_error(key, "'" + value.substr(0, 40) + "' is not a cache type Ollama accepts (f16, q8_0, q4_0)"));
    } else if (key == "OLLAMA_FLASH_ATTENTION") {
      // strconv.ParseBool's spellings. Ollama reads anything else as on (BoolWithDefault).
      if (contains({"1", "t", "T", "true", "TRUE", "True"}, value)) env.flash_attention = true;
      else if (contains({"0", "f", "F", "false", "FALSE", "False"}, value)) env.flash_attention = false;
      else return std::unexpected(env_error(key, "'" + value.substr(0, 40) + "' is not 1, true, 0 or false (Ollama would read it as on)"));
    } else if (key == "OLLAMA_GPU_OVERHEAD") {
      // envconfig.Uint64: a byte count, digits only (up to 1 EiB here).
      if (value.find_first_not_of("0123456789") != std::string::npos) {
        return std::unexpected(env_error(key, "expected a byte count (digits only, as Ollama reads it), got '" +
                                                  value.substr(0, 40) + "'"));
      }
      auto n = parse_uint(key, value, 1ull << 60);
      if (!n) return std::unexpected(n.error());
      env.gpu_overhead_bytes = *n;
    } else if (key == "num_ctx") {
      auto n = parse_uint(key, value, max_context_tokens);
      if (!n) return std::unexpected(n.error());
      if (*n != 0) env.num_ctx = *n;
    } else if (key == "num_gpu") {
      if (value == "-1") continue; // api.DefaultOptions: "set dynamically"
      auto n = parse_uint(key, value, 1u << 20);
      if (!n) return std::unexpected(n.error());
      env.num_gpu = *n;
    } else if (key == "num_batch") {
      auto n = parse_count(value, 1u << 20);
      if (!n) return std::unexpected(env_error(key, n.error().message));
      env.num_batch = *n;
    } else if (key == "draft_num_predict") {
      auto n = parse_uint(key, value, 1024);
      if (!n) return std::unexpected(n.error());
      env.draft_num_predict = *n;
    } else if (key.starts_with("OLLAMA_") || key.ends_with("_VISIBLE_DEVICES") || key == "GPU_DEVICE_ORDINAL" ||
               contains({"num_thread", "num_predict", "num_keep", "temperature", "top_k", "top_p", "min_p", "stop",
                         "seed", "repeat_penalty", "repeat_last_n", "use_mmap", "main_gpu"},
                        key)) {
      env.ignored.push_back(key + "=" + value.substr(0, 60));
    } else {
      return std::unexpected(Error{ErrorCode::invalid_argument,
                                   "--ollama-env: unknown key '" + key.substr(0, 60) +
                                       "' (expected OLLAMA_CONTEXT_LENGTH, OLLAMA_NUM_PARALLEL, OLLAMA_KV_CACHE_TYPE, "
                                       "OLLAMA_FLASH_ATTENTION, OLLAMA_GPU_OVERHEAD, num_ctx, num_gpu, num_batch or "
                                       "draft_num_predict)"});
    }
  }
  return env;
}

OllamaModelFacts ollama_model_facts(const ModelSpec& spec) {
  OllamaModelFacts f;
  f.arch = spec.arch;
  f.trained_context = spec.max_context;
  f.head_dim_k = spec.attention.head_dim;
  f.head_dim_v = spec.attention.v_head_dim != 0 ? spec.attention.v_head_dim : spec.attention.head_dim;
  return f;
}

namespace {

// Total VRAM less OLLAMA_GPU_OVERHEAD per GPU (server/routes.go Serve): the input of the
// low-VRAM mode (v0.11.4) and of the tiered default context (v0.15.5).
std::uint64_t usable_vram_bytes(std::span<const GpuSpec> gpus, std::uint64_t gpu_overhead_bytes) {
  std::uint64_t vram_bytes = 0;
  for (const GpuSpec& g : gpus) {
    const std::uint64_t total = g.memory_bytes > gpu_overhead_bytes ? g.memory_bytes - gpu_overhead_bytes : 0;
    vram_bytes = checked_add(vram_bytes, total, "the total VRAM");
  }
  return vram_bytes;
}

// ---- context per sequence ----
void choose_context(OllamaSettings& s, OllamaRelease r, const OllamaEnv& env, const OllamaModelFacts& model) {
  const std::string& arch = model.arch;
  // api.DefaultOptions NumCtx 2048 (≤ v0.5.12); envconfig.ContextLength from v0.5.13 (default
  // 2048), 4096 from v0.6.7 (44b466eeb); 0 = the VRAM tier from v0.15.5 (0334ffa62).
  if (r < rel(0, 5, 13)) {
    s.default_num_ctx = 2048;
    if (env.context_length) s.notes.push_back("OLLAMA_CONTEXT_LENGTH is read from 0.5.13; " + ollama_release_name(r) + " ignores it");
  } else if (r < rel(0, 15, 5)) {
    s.default_num_ctx = r < rel(0, 6, 7) ? 2048 : 4096;
  } else {
    s.default_num_ctx = s.vram_bytes >= 47 * GiB ? 262144 : s.vram_bytes >= 23 * GiB ? 32768 : 4096;
  }
  s.num_ctx = s.default_num_ctx;
  s.num_ctx_source = r >= rel(0, 15, 5) ? "VRAM tier" : "default";
  if (r >= rel(0, 5, 13) && env.context_length && *env.context_length != 0) {
    s.num_ctx = *env.context_length;
    s.num_ctx_source = "OLLAMA_CONTEXT_LENGTH";
  }
  if (env.num_ctx) {
    s.num_ctx = *env.num_ctx;
    s.num_ctx_source = "num_ctx";
  }
  // gpt-oss's floor (server/routes.go scheduleRunner, fa7776fd2 v0.11.1): 8192 tokens; from
  // v0.11.4 (f2e9c9aff) not in low-VRAM mode (under 20 GiB); qwen3vl by v0.13.0; removed in
  // v0.15.5 (0334ffa62).
  s.low_vram = r >= rel(0, 11, 4) && r < rel(0, 15, 5) && s.vram_bytes < 20 * GiB;
  if (r >= rel(0, 11, 1) && r < rel(0, 15, 5) && !s.low_vram) {
    const bool floor_arch = contains({"gptoss", "gpt-oss"}, arch) ||
                            (r >= rel(0, 13, 0) && contains({"qwen3vl", "qwen3vlmoe"}, arch));
    if (floor_arch && s.num_ctx < 8192) {
      s.num_ctx = 8192;
      s.num_ctx_source += ", raised to gpt-oss's minimum 8192";
    }
  }
  if (s.low_vram) s.notes.push_back("entering low vram mode (under 20 GiB)");
  // The clamp to the trained context (llm/server.go NewLlamaServer, 10a8e04a8, v0.9.3).
  if (r >= rel(0, 9, 3) && model.trained_context > 0 && s.num_ctx > model.trained_context) {
    s.notes.push_back("requested context size too large for model: num_ctx " + std::to_string(s.num_ctx) +
                      ", n_ctx_train " + std::to_string(model.trained_context));
    s.num_ctx = model.trained_context;
    s.num_ctx_source += ", clamped to the trained context";
  }
}

// ---- parallel sequences ----
void choose_parallel(OllamaSettings& s, OllamaRelease r, const OllamaEnv& env, const OllamaModelFacts& model) {
  const std::string& arch = model.arch;
  // server/sched.go: defaultParallel 4 (≤ v0.6.6), 2 (v0.6.7, 424f64863), 1 (v0.9.7,
  // 20c3266e9); OLLAMA_NUM_PARALLEL 0 = automatic: defaultParallel, then 1 (pickBestFullFitByLibrary).
  const std::uint64_t default_parallel = r < rel(0, 6, 7) ? 4 : r < rel(0, 9, 7) ? 2 : 1;
  const std::uint64_t env_parallel = env.num_parallel.value_or(r < rel(0, 9, 7) ? 0 : 1);
  if (env_parallel != 0) {
    s.parallel = env_parallel;
  } else {
    s.parallel = default_parallel;
    if (default_parallel > 1) s.parallel_tries = {default_parallel, 1};
  }
  // Forced to one sequence (server/sched.go load): embedding models, mllama; qwen3vl and
  // qwen3vlmoe (encoder cache) by v0.12.10; qwen3next, lfm2, lfm2moe by v0.15.5; qwen35,
  // qwen35moe, nemotron_h, nemotron_h_moe by v0.20.0; nemotron_h_omni by v0.30.0.
  const bool forced_one = model.embedding || arch == "mllama" ||
                          (r >= rel(0, 12, 10) && contains({"qwen3vl", "qwen3vlmoe"}, arch)) ||
                          (r >= rel(0, 15, 5) && contains({"qwen3next", "lfm2", "lfm2moe"}, arch)) ||
                          (r >= rel(0, 20, 0) && contains({"qwen35", "qwen35moe", "nemotron_h", "nemotron_h_moe"}, arch)) ||
                          (r >= rel(0, 30, 0) && arch == "nemotron_h_omni");
  if (forced_one && s.parallel != 1) {
    s.notes.push_back(arch + " runs one sequence at a time (parallel " + std::to_string(s.parallel) + " ignored)");
    s.parallel = 1;
    s.parallel_tries.clear();
  }
}

// llm/server.go NewLlamaServer: envconfig.FlashAttention (default off); gpt-oss forced on
// from v0.11.8 (85ccf7354); from v0.12.4 (fdb109469) the per-architecture default of
// GGML.FlashAttention (fs/ggml/ggml.go), which the environment overrides.
bool library_flash_attention_default(OllamaRelease r, const std::string& arch) {
  bool fa_default = false;
  if (r >= rel(0, 11, 8) && contains({"gptoss", "gpt-oss"}, arch)) fa_default = true;
  if (r >= rel(0, 12, 4) && contains({"qwen3", "qwen3moe"}, arch)) fa_default = true;
  if (r >= rel(0, 12, 6) && arch == "gemma3") fa_default = true;
  if (r >= rel(0, 12, 10) && contains({"qwen3vl", "qwen3vlmoe"}, arch)) fa_default = true;
  if (r >= rel(0, 14, 0) && contains({"bert", "mistral3", "olmo3"}, arch)) fa_default = true;
  if (r >= rel(0, 20, 0) && contains({"glm4moelite", "glmocr", "lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe",
                                       "qwen35", "qwen35moe", "qwen3next"},
                                      arch)) {
    fa_default = true;
  }
  return fa_default;
}

// ---- flash attention and the cache type ----
void choose_flash_attention(OllamaSettings& s, OllamaRelease r, const OllamaEnv& env, const OllamaModelFacts& model) {
  const std::string& arch = model.arch;
  const Dtype kvct = env.kv_cache_type.value_or(Dtype::f16);
  if (s.runner == OllamaRunner::llama_server) {
    // llm/llama_server.go LlamaServerFlashAttention: the environment's on/off, else "auto"
    // (vramcalc assumes GPUs that support it); the cache type is passed as it is.
    s.flash_attn = env.flash_attention ? (*env.flash_attention ? FlashAttn::on : FlashAttn::off) : FlashAttn::automatic;
    s.flash_attention = s.flash_attn != FlashAttn::off;
    s.kv_type = kvct;
  } else {
    const bool fa_default = library_flash_attention_default(r, arch);
    bool fa = env.flash_attention.value_or(false);
    if (r < rel(0, 12, 4)) fa = fa || fa_default; // "model wants flash attention": the env cannot turn it off
    else fa = env.flash_attention.value_or(fa_default);
    // GGML.SupportsFlashAttention: not embeddings, not gemma2, K and V heads of one nonzero size.
    if (fa && (model.embedding || arch == "gemma2" || model.head_dim_k == 0 || model.head_dim_k != model.head_dim_v)) {
      s.notes.push_back("flash attention enabled but not supported by model");
      fa = false;
    }
    s.flash_attention = fa;
    s.flash_attn = fa ? FlashAttn::on : FlashAttn::off;
    s.kv_type = Dtype::f16;
    if (kvct != Dtype::f16) {
      if (fa) s.kv_type = kvct;
      else s.notes.push_back(std::string("quantized kv cache requested but flash attention disabled, type ") +
                             std::string(traits(kvct).name));
    }
  }
}

} // namespace

OllamaSettings ollama_settings(OllamaRelease r, const OllamaEnv& env, const OllamaModelFacts& model,
                               std::span<const GpuSpec> gpus) {
  OllamaSettings s;
  s.release = r;
  const LlamaCppPin& pin = pin_of(r);
  s.llamacpp_release = pin.date;
  s.llamacpp_build = std::string(pin.build);
  s.runner = r >= rel(0, 30, 0) ? OllamaRunner::llama_server : OllamaRunner::llama_library;
  s.gpu_overhead_bytes = env.gpu_overhead_bytes;
  // discover/gpu.go cudaMinimumMemory / rocmMinimumMemory (ml/device.go MinimumMemory from
  // v0.12): held back on every GPU by Ollama's own layout. llama-server (v0.30+) fits the model
  // itself, leaving its --fit target free (1024 MiB: "will leave ... >= 1024 MiB of free device
  // memory", Ollama issue 16416).
  if (!gpus.empty()) s.minimum_memory_bytes = s.runner == OllamaRunner::llama_library ? 457 * MiB : 1024 * MiB;
  s.vram_bytes = usable_vram_bytes(gpus, env.gpu_overhead_bytes);
  choose_context(s, r, env, model);
  choose_parallel(s, r, env, model);
  choose_flash_attention(s, r, env, model);
  s.num_batch = env.num_batch.value_or(512); // api.DefaultOptions NumBatch
  s.num_gpu = env.num_gpu;
  return s;
}

OllamaLlamaCpp ollama_llamacpp_request(const OllamaSettings& s, std::uint64_t layer_buffer_bytes,
                                       std::span<const LlamaCppLora> adapters) {
  OllamaLlamaCpp q;
  // The adapters: LoadRequest.LoraPath, which the library runner hands to llama.cpp's
  // llama_adapter_lora_init (runner/llamarunner), and `--lora FILE` per adapter to llama-server
  // (llm/llama_server.go, v0.30+): llama.cpp's own adapter buffers either way.
  q.options.loras.assign(adapters.begin(), adapters.end());
  // Context of all sequences: old sched.go `NumCtx = origNumCtx * numParallel` (≤ v0.11.4),
  // LoadRequest KvSize = NumCtx * numParallel (v0.11.5+), llama-server `-c NumCtx*numParallel
  // -np numParallel` (llm/llama_server.go, v0.30+).
  q.n_ctx = checked_mul(s.num_ctx, s.parallel, "the context of all sequences");
  q.n_seq = s.parallel;
  q.options.type_k = s.kv_type;
  q.options.type_v = s.kv_type;
  q.options.flash_attn = s.flash_attn;
  q.options.release = s.llamacpp_release;
  q.options.server = s.runner == OllamaRunner::llama_server;
  // llama/llama.go NewContextParams: n_batch = num_batch, llama.cpp's default n_ubatch (512);
  // llama-server gets `-b num_batch -ub num_batch`.
  q.options.n_batch = static_cast<std::uint32_t>(s.num_batch);
  q.options.n_ubatch = q.options.server ? static_cast<std::uint32_t>(s.num_batch)
                                        : static_cast<std::uint32_t>(std::min<std::uint64_t>(s.num_batch, 512));
  if (s.num_gpu) q.options.n_gpu_layers = static_cast<std::uint32_t>(*s.num_gpu);
  if (s.runner == OllamaRunner::llama_library) {
    q.layer_buffer_bytes = layer_buffer_bytes;
    q.overhead_bytes = checked_add(checked_add(s.minimum_memory_bytes, s.gpu_overhead_bytes, "Ollama's reservation"),
                                   layer_buffer_bytes, "Ollama's reservation");
  } else {
    q.overhead_bytes = s.minimum_memory_bytes; // llama-server's --fit margin
  }
  return q;
}

std::uint64_t ollama_layer_buffer_bytes(const ModelSpec& spec, const WeightFormat& format, Dtype kv_type,
                                        std::uint64_t cells) {
  if (spec.layers.empty()) return 0;
  const std::vector<Tensor> tensors = model_tensors(spec);
  const std::vector<TensorStorage> storage = tensor_storage(spec, tensors, format);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].layer == 0) bytes = checked_add(bytes, storage[i].bytes, "blk.0's weights");
  }
  const std::uint64_t kv = checked_mul(kv_bytes_per_token(spec, spec.layers[0], kv_type), cells, "blk.0's KV");
  return checked_add(bytes, kv, "blk.0's weights and KV");
}

std::uint64_t ollama_graph_bytes(const ModelSpec& spec, OllamaRelease release, std::uint64_t cells, Dtype kv_type) {
  // llm/memory.go EstimateGPULayers (v0.5.0 - v0.11.10, every model): when fs/ggml/ggml.go
  // GraphSize has no formula for the architecture, graphPartialOffload = GQA × kvTotal / 6 and
  // graphFullOffload the same. The architectures with a formula are left to llama.cpp's own
  // compute buffer (an approximation, docs/engines.md); so are later releases, whose layouts
  // come from the runner's real allocations (d5a0d8d90, eb10390de) or llama-server's own fit.
  if (release >= OllamaRelease{0, 11, 11}) return 0;
  if (contains({"llama", "llama4", "mllama", "gemma", "gemma2", "gemma3", "command-r", "qwen2", "phi2", "stablelm",
                "deepseek2", "chatglm"},
               spec.arch)) {
    return 0;
  }
  if (spec.attention.num_kv_heads == 0) return 0;
  const std::uint64_t gqa = spec.attention.num_heads / spec.attention.num_kv_heads;
  // kv[i] = context × (head_k + head_v) × heads_kv × bytes per element (f16 2, q8_0 1, q4_0 ½).
  const std::uint64_t head_v = spec.attention.v_head_dim != 0 ? spec.attention.v_head_dim : spec.attention.head_dim;
  std::uint64_t per_layer = checked_mul(checked_mul(cells, spec.attention.head_dim + head_v, "Ollama's KV estimate"),
                                        spec.attention.num_kv_heads, "Ollama's KV estimate");
  per_layer = kv_type == Dtype::q8_0 ? per_layer : kv_type == Dtype::q4_0 ? per_layer / 2 : checked_mul(per_layer, 2, "Ollama's KV estimate");
  const std::uint64_t kv_total = checked_mul(per_layer, spec.num_layers, "Ollama's KV estimate");
  return checked_mul(gqa, kv_total, "Ollama's graph estimate") / 6;
}

std::string ollama_adapter_refusal(const ModelSpec& spec, OllamaRelease release) {
  // The architectures of fs/ggml/ggml.go OllamaEngineRequired by the first release (tag) that
  // lists each, read at every tag from 0.6.0 to 0.24.0 (qwen3 is off the list in 0.12.5 only;
  // Ollama's own gpt-oss GGUFs name their architecture "gptoss", listed from 0.11.0).
  struct Row {
    std::string_view arch;
    OllamaRelease first;
  };
  static constexpr Row rows[] = {
      {"gemma3", {0, 6, 0}},       {"mistral3", {0, 6, 5}},     {"llama4", {0, 6, 7}},      {"mllama", {0, 7, 0}},
      {"qwen25vl", {0, 7, 0}},     {"gemma3n", {0, 9, 3}},      {"gpt-oss", {0, 11, 0}},    {"qwen3", {0, 12, 0}},
      {"qwen3moe", {0, 12, 2}},    {"qwen3vl", {0, 12, 7}},     {"qwen3vlmoe", {0, 12, 7}}, {"deepseek2", {0, 13, 0}},
      {"deepseekocr", {0, 13, 0}}, {"nomic-bert", {0, 13, 1}},  {"olmo3", {0, 13, 4}},      {"bert", {0, 13, 5}},
      {"glm4moelite", {0, 14, 3}}, {"lfm2", {0, 14, 3}},        {"qwen3next", {0, 15, 5}},  {"glmocr", {0, 15, 5}},
      {"nemotron_h", {0, 17, 1}},  {"nemotron_h_moe", {0, 17, 1}}, {"qwen35", {0, 17, 1}},  {"qwen35moe", {0, 17, 1}},
      {"lfm2moe", {0, 17, 1}},     {"gemma4", {0, 20, 0}},      {"laguna", {0, 22, 0}},     {"nemotron_h_omni", {0, 22, 0}},
  };
  // From 0.30.0 llama-server runs every model and takes `--lora` for each adapter.
  if (release >= rel(0, 30, 0)) return {};
  for (const Row& r : rows) {
    if (spec.arch != r.arch || release < r.first) continue;
    if (r.arch == "qwen3" && release == rel(0, 12, 5)) return {};
    return "Ollama " + ollama_release_name(release) + " runs " + spec.arch +
           " on its own engine (fs/ggml/ggml.go OllamaEngineRequired), whose runner refuses adapters: \"loras are not yet "
           "implemented\" (runner/ollamarunner/runner.go allocModel); llama-server runs them from 0.30.0";
  }
  return {};
}

std::string ollama_draft_refusal(OllamaRelease release, std::string_view draft_arch) {
  if (release < ollama_first_draft) {
    return "Ollama " + ollama_release_name(release) +
           " has no speculative decoding: no runner takes a draft model before 0.30.0 (0.23.1 - 0.24 parse a Modelfile "
           "DRAFT only with --experimental and pass it on to none); llama-server's draft arguments came in 0.30.0 "
           "(llm/llama_server.go appendMTPDraftArgs)";
  }
  if (draft_arch == "dflash" && release >= ollama_first_dflash) {
    return "Ollama " + ollama_release_name(release) +
           " passes a DRAFT of architecture dflash to llama-server as --spec-type draft-dflash (llm/llama_server.go "
           "externalDraftType, appendDraftArgs, from 0.32.7), a block-diffusion drafter that reads the target's hidden "
           "states (common/speculative.cpp common_speculative_impl_draft_dflash), which vramcalc does not model";
  }
  return "";
}

OllamaResult ollama_plan(const ModelSpec& spec, const WeightFormat& format, OllamaRelease release,
                         const OllamaEnv& env, const std::vector<GpuSpec>& gpus, std::span<const LlamaCppLora> adapters,
                         const DraftModel* draft) {
  OllamaResult out;
  const OllamaModelFacts facts = ollama_model_facts(spec);
  // From 0.30.0 Ollama sets EnableMTP for a GGUF with its own MTP layers (llm/llama_server.go
  // NewLlamaServerRunner: hasMTPDraft, nextn_predict_layers > 0) and appendMTPDraftArgs passes
  // --spec-type draft-mtp --spec-draft-n-max DraftNumPredict --spec-draft-backend-sampling, but
  // only while DraftNumPredict > 0: server/routes.go modelOptions zeroes it unless a Modelfile
  // DRAFT is given or the model or request sets draft_num_predict (0.30.0 to 0.33.0-rc2).
  const bool drafter_given = draft != nullptr && release >= ollama_first_draft;
  const std::uint64_t n_draft = env.draft_num_predict.value_or(drafter_given ? ollama_draft_num_predict : 0);
  const bool mtp = spec.mtp_layers > 0 && release >= ollama_first_draft && n_draft > 0 &&
                   llamacpp_mtp_refusal(spec, ollama_settings(release, env, facts, gpus).llamacpp_release).empty();
  out.model_layers = static_cast<std::uint32_t>(spec.num_layers + 1 + (mtp ? spec.mtp_layers : 0));
  // A Modelfile DRAFT (0.30.0+): EnableMTP only without one (NewLlamaServerRunner: DraftModelPath
  // == ""); appendMTPDraftArgs adds --spec-draft-model PATH to draft-mtp, so llama-server makes
  // the MTP context on the drafter (llamacpp_add_draft) and the target loads its MTP blocks only.
  const bool drafter = drafter_given && n_draft > 0;

  const auto attempt = [&](std::uint64_t parallel, const std::vector<GpuSpec>& use, std::optional<std::uint32_t> ngl) {
    OllamaSettings s = ollama_settings(release, env, facts, gpus);
    s.parallel = parallel;
    const std::uint64_t cells = checked_mul(s.num_ctx, parallel, "the context of all sequences");
    const std::uint64_t buffer = s.runner == OllamaRunner::llama_library && !use.empty()
                                     ? ollama_layer_buffer_bytes(spec, format, s.kv_type, cells)
                                     : 0;
    OllamaLlamaCpp q = ollama_llamacpp_request(s, buffer, adapters);
    if (ngl && !s.num_gpu) q.options.n_gpu_layers = ngl;
    if (mtp || drafter) {
      q.options.spec_mtp = true;
      q.options.mtp_on_draft = drafter;
      q.options.n_draft = static_cast<std::uint32_t>(n_draft);
    }
    LlamaCppResult lr = llamacpp_plan(spec, format, q.n_ctx, q.n_seq, use, q.overhead_bytes, q.options);
    if (drafter) llamacpp_add_draft(lr, *draft, q.n_seq, use, q.options);
    return std::tuple{std::move(s), std::move(q), std::move(lr)};
  };
  // What Ollama's layout compares with a GPU's free memory: llama.cpp's allocations and Ollama's
  // reservation, its own graph estimate where it has one larger than llama.cpp's compute buffer.
  const auto estimate = [&](const LlamaCppResult& lr, const LlamaCppDevice& d) {
    const std::uint64_t graph = ollama_graph_bytes(spec, release, lr.n_ctx, lr.type_k);
    return checked_add(d.total() - d.compute_bytes, std::max(d.compute_bytes, d.layers > 0 ? graph : 0), "a GPU's total");
  };
  const auto fits = [&](const LlamaCppResult& lr) {
    return lr.error.empty() && std::all_of(lr.gpus.begin(), lr.gpus.end(),
                                           [&](const LlamaCppDevice& d) { return estimate(lr, d) <= d.usable_bytes; });
  };
  const auto full = [&](const LlamaCppResult& lr) { return lr.gpu_layers >= out.model_layers; };
  const auto finish = [&](std::tuple<OllamaSettings, OllamaLlamaCpp, LlamaCppResult> t) {
    out.settings = std::move(std::get<0>(t));
    out.request = std::move(std::get<1>(t));
    out.llamacpp = std::move(std::get<2>(t));
    out.gpu_layers = out.llamacpp.gpu_layers;
    out.fully_offloaded = !gpus.empty() && full(out.llamacpp);
    for (const LlamaCppDevice& d : out.llamacpp.gpus) out.gpu_totals_bytes.push_back(estimate(out.llamacpp, d));
    return out;
  };

  const OllamaSettings base = ollama_settings(release, env, facts, gpus);
  std::vector<std::uint64_t> tries = base.parallel_tries;
  if (tries.empty()) tries = {base.parallel};
  if (gpus.empty() || base.num_gpu) return finish(attempt(tries.front(), gpus, std::nullopt));

  // Full offload: the automatic parallel values in order, one GPU before all of them
  // (server/sched.go pickBestFullFitByLibrary; Ollama packs a model into as few GPUs as it can).
  for (std::uint64_t p : tries) {
    if (gpus.size() > 1) {
      auto one = attempt(p, std::vector<GpuSpec>(gpus.begin(), gpus.begin() + 1), std::nullopt);
      if (fits(std::get<2>(one)) && full(std::get<2>(one))) return finish(std::move(one));
    }
    auto all = attempt(p, gpus, std::nullopt);
    if (fits(std::get<2>(all)) && full(std::get<2>(all))) return finish(std::move(all));
  }
  // Partial offload with the last value tried (1 when automatic): the most layers whose
  // allocations, with Ollama's reservation, fit on every GPU (llm/memory.go EstimateGPULayers
  // places layers from the last block down while they fit; llama-server's own fit, v0.30+).
  // A GPU's bytes grow with the layers it holds, so the most that fit is found by bisection.
  const std::uint64_t p = tries.back();
  std::uint32_t lo = 0, hi = out.model_layers - 1; // lo fits (or is 0), hi + 1 does not
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo + 1) / 2;
    if (fits(std::get<2>(attempt(p, gpus, mid)))) lo = mid;
    else hi = mid - 1;
  }
  return finish(attempt(p, gpus, lo));
}

} // namespace vramcalc

// ---- Ollama's part of an estimate (engine_sections.hpp) ----------------------------------

namespace vramcalc::detail {

namespace {

// The GPUs Ollama is given: the first requested type at its count (one when none is given).
std::vector<GpuSpec> ollama_gpus(const Settings& s) {
  if (s.gpus.empty()) return {};
  const GpuRequest& g = s.gpus.front();
  return std::vector<GpuSpec>(std::max<std::uint32_t>(1, g.count), g.gpu);
}

} // namespace

std::pair<std::uint64_t, std::string> ollama_default_context(const ModelSpec& model, const Settings& s) {
  const OllamaOptions& o = s.engine_options.ollama;
  const std::vector<GpuSpec> gpus = ollama_gpus(s);
  const OllamaSettings st = ollama_settings(o.release, o.env, ollama_model_facts(model), gpus);
  return {st.num_ctx, st.num_ctx_source};
}

EngineSection ollama_section(const ModelSpec& model, const Settings& s, const Parallel&) {
  const GpuRequest& g = s.gpus.front();
  const OllamaOptions& o = s.engine_options.ollama;
  // The settings' context is num_ctx: --ctx, or Ollama's own default (ollama_default_context,
  // chosen before the estimate); --batch is OLLAMA_NUM_PARALLEL; --kv, OLLAMA_KV_CACHE_TYPE
  // when the environment does not say.
  OllamaEnv env = o.env;
  env.num_ctx = s.context_tokens;
  if (o.batch_given) env.num_parallel = s.batch;
  OllamaSection os;
  os.kv_source = env.kv_cache_type ? "OLLAMA_KV_CACHE_TYPE" : "default";
  if (!env.kv_cache_type && s.kv_dtype != Dtype::f16) {
    env.kv_cache_type = s.kv_dtype;
    os.kv_source = "--kv";
  }
  const std::vector<GpuSpec> gpus = ollama_gpus(s);
  WeightFormat w = llamacpp_gguf_weights(s.weights);
  // The mix as the quantizer of the llama.cpp that release runs chose it.
  if (w.kind == FormatKind::gguf) {
    w.llamacpp_release = ollama_settings(o.release, env, ollama_model_facts(model), gpus).llamacpp_release;
  }
  os.plan = ollama_plan(model, w, o.release, env, gpus, o.loras, s.draft.get());
  const OllamaResult& r = os.plan;
  const OllamaSettings& st = r.settings;
  os.weights = w.id;
  os.total_layers = r.model_layers;
  os.requested_num_ctx = s.context_tokens;
  if (o.default_context_source.empty()) {
    // "num_ctx" and what Ollama then did to it (raised to a floor, clamped).
    os.num_ctx_source = "--ctx" + st.num_ctx_source.substr(std::min<std::size_t>(7, st.num_ctx_source.size()));
  } else {
    os.num_ctx_source = o.default_context_source;
  }
  if (o.batch_given) os.parallel_source = "--batch";
  else if (o.env.num_parallel && *o.env.num_parallel != 0) os.parallel_source = "OLLAMA_NUM_PARALLEL";
  else if (!st.parallel_tries.empty()) os.parallel_source = "automatic: " + std::to_string(st.parallel_tries.front()) + ", else 1";
  else os.parallel_source = "release default";
  if (env.flash_attention) os.flash_source = "OLLAMA_FLASH_ATTENTION";
  else if (st.runner == OllamaRunner::llama_server) os.flash_source = "llama-server's auto";
  else os.flash_source = "release default for " + (ollama_model_facts(model).arch);

  EngineSection e = section_head(ollama_release_name(st.release), g.gpu, 1,
                                 static_cast<std::uint32_t>(std::max<std::size_t>(1, r.llamacpp.gpus.size())), st.num_ctx,
                                 st.parallel);
  bool within = r.llamacpp.error.empty();
  for (std::size_t i = 0; i < r.llamacpp.gpus.size() && i < r.gpu_totals_bytes.size(); ++i) {
    within = within && r.gpu_totals_bytes[i] <= r.llamacpp.gpus[i].usable_bytes;
  }
  // Ollama runs a model it cannot place whole with the rest of its layers on the CPU: that is
  // not a fit (its speed is the CPU's), and the section says how many layers it offloads.
  // A context beyond the trained one is clamped (not an error to Ollama): the context asked
  // for is not had, so that is not a fit either, and no GPU count changes it.
  e.fits = within && r.fully_offloaded && !os.clamped();
  llamacpp_host(e, r.llamacpp);
  for (const std::string& n : st.notes) e.notes.push_back("Ollama logs: " + n + ".");
  if (r.llamacpp.error.empty() && !r.fully_offloaded) {
    e.notes.push_back(std::to_string(r.model_layers - r.gpu_layers) + " of " + std::to_string(r.model_layers) +
                      " layers (counting the output) stay in system RAM: Ollama offloads " +
                      std::to_string(r.gpu_layers) + " and runs the rest on the CPU.");
  }
  if (!o.loras.empty() && st.release >= rel(0, 13, 0) && st.runner == OllamaRunner::llama_library) {
    // llm/server.go (0.13.0 - 0.24): the layout's projector loop ranges over LoraPath too.
    e.notes.push_back("Ollama " + ollama_release_name(st.release) +
                      " also takes the adapters' tensors off the first GPU's free memory when it places layers (the "
                      "projector loop of llm/server.go ranges over LoraPath): it may offload fewer layers than shown.");
  }
  const std::string n_max = std::to_string(r.request.options.n_draft); // draft_num_predict as passed
  if (r.llamacpp.draft) {
    e.notes.push_back("Ollama " + ollama_release_name(st.release) +
                      " passes the Modelfile DRAFT to llama-server as an MTP drafter (llm/llama_server.go "
                      "appendMTPDraftArgs: --spec-type draft-mtp --spec-draft-n-max " + n_max +
                      " --spec-draft-model PATH, from 0.30.0): its weights and its MTP context are counted, in the "
                      "rows below.");
  } else if (r.llamacpp.mtp) {
    e.notes.push_back("Ollama " + ollama_release_name(st.release) +
                      " drafts with this model's MTP layers when draft_num_predict is set (llm/llama_server.go "
                      "hasMTPDraft, appendMTPDraftArgs: --spec-type draft-mtp --spec-draft-n-max " + n_max +
                      ", from 0.30.0); it is counted (llama.cpp's MTP blocks, MTP context and state snapshots, in the "
                      "rows below).");
  } else if (model.mtp_layers > 0 && st.release >= ollama_first_draft) {
    const std::string why = llamacpp_mtp_refusal(model, st.llamacpp_release);
    e.notes.push_back(
        "Ollama " + ollama_release_name(st.release) +
        (!why.empty() ? " would draft with this model's MTP layers with draft_num_predict set (llm/llama_server.go "
                        "hasMTPDraft); " + why + ": not counted."
                      : " drafts with this model's MTP layers only when draft_num_predict is set: server/routes.go "
                        "modelOptions zeroes its default of 4 without a Modelfile DRAFT, and appendMTPDraftArgs then "
                        "passes no draft arguments. Not counted; --ollama-env draft_num_predict=4 counts it."));
  }
  if (!o.env.ignored.empty()) {
    std::string keys;
    for (const std::string& k : o.env.ignored) keys += (keys.empty() ? "" : ", ") + k;
    e.notes.push_back("--ollama-env: not modelled, no effect on memory: " + keys + ".");
  }
  e.detail = std::move(os);
  return e;
}

void engine_decide(FitRow& row, const EngineSection&, const OllamaSection& os, std::uint64_t) {
  // The device with the least room in Ollama's terms: llama.cpp's allocations, its
  // reservation, its graph estimate where larger (OllamaResult::gpu_totals_bytes).
  const LlamaCppResult& p = os.plan.llamacpp;
  row.count = static_cast<std::uint32_t>(p.gpus.size());
  row.tp = 1;
  row.pp = row.count;
  std::size_t busiest = p.gpus.size();
  std::int64_t least = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 0; i < p.gpus.size() && i < os.plan.gpu_totals_bytes.size(); ++i) {
    const std::int64_t h = headroom_bytes(p.gpus[i].usable_bytes, os.plan.gpu_totals_bytes[i]);
    if (busiest == p.gpus.size() || h < least) {
      busiest = i;
      least = h;
    }
  }
  if (busiest == p.gpus.size()) return;
  const LlamaCppDevice& d = p.gpus[busiest];
  const std::uint64_t total = os.plan.gpu_totals_bytes[busiest];
  row.required_bytes_per_gpu = total;
  row.usable_bytes = d.usable_bytes;
  row.headroom_bytes = least;
  row.busiest_weights_bytes = d.model_bytes;
  row.busiest_kv_bytes = d.kv_bytes;
  row.busiest_state_bytes = 0;
  row.overhead_bytes = total - std::min(total, d.model_bytes + d.kv_bytes);
}

} // namespace vramcalc::detail

// ---- Ollama's options: its server's environment and release ----

namespace vramcalc {

namespace {

// Edit distance, bounded inputs (environment keys).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Ollama ignores a variable it does not read, so a misspelt OLLAMA_CONTEXT_LENGTH would be
// silently the default: refused here when the key is a prefix of, or two edits from, one
// that changes memory.
std::optional<Error> ollama_env(std::string_view text, Settings& s) {
  auto env = parse_ollama_env(text);
  if (!env) {
    // The parser's messages begin "--ollama-env: "; the caller names the flag or the deployment key.
    Error e = env.error();
    if (e.message.starts_with("--ollama-env: ")) e.message.erase(0, 14);
    return e;
  }
  for (const std::string& entry : env->ignored) {
    const std::string_view key = std::string_view(entry).substr(0, entry.find('='));
    if (!key.starts_with("OLLAMA_") || key.size() > 60) continue;
    for (std::string_view known : {"OLLAMA_CONTEXT_LENGTH", "OLLAMA_NUM_PARALLEL", "OLLAMA_KV_CACHE_TYPE",
                                   "OLLAMA_FLASH_ATTENTION", "OLLAMA_GPU_OVERHEAD"}) {
      const bool prefix = key.size() > 8 && (known.starts_with(key) || key.starts_with(known));
      if (prefix || edit_distance(key, known) <= 2) {
        return value_error("'" + std::string(key) + "' is not a variable Ollama reads (it would be ignored); did you mean " +
                                              std::string(known) + "?");
      }
    }
  }
  s.engine_options.ollama.env = std::move(*env);
  return std::nullopt;
}

constexpr EngineOptionSpec ollama_options[] = {
    {"--ollama-env", "env",
     "Ollama: its environment and Modelfile parameters, \"K=V K=V\" (OLLAMA_CONTEXT_LENGTH, OLLAMA_NUM_PARALLEL, "
     "OLLAMA_KV_CACHE_TYPE, OLLAMA_FLASH_ATTENTION, OLLAMA_GPU_OVERHEAD, num_ctx, num_gpu, num_batch, draft_num_predict)",
     false, true, ollama_env, 1},
    {"--ollama-version", "version", "Ollama: the release whose rules to model, 0.5.0 to 0.33.0 (default: newest)", false,
     true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t == "latest" || t == "newest") {
         s.engine_options.ollama.release = ollama_newest;
         return std::nullopt;
       }
       return read_into(s.engine_options.ollama.release, parse_ollama_release(t));
     }, 2},
};

} // namespace

std::span<const EngineOptionSpec> ollama_option_specs() { return ollama_options; }

} // namespace vramcalc
