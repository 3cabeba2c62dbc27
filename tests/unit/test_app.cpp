// The application library: engines by name, and check verdicts that agree with the estimate's
// own fit row (one computation, two views), run without a process.
#include "app/app.hpp"
#include "vramcalc/engine.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

using namespace vramcalc;

TEST_CASE("engine_table: ids, aliases, context steps and KV dtypes", "[app][engine]") {
  CHECK(find_engine("vllm") == EngineKind::vllm);
  CHECK(find_engine("LLAMA.CPP") == EngineKind::llamacpp);
  CHECK(find_engine("llamacpp") == EngineKind::llamacpp);
  CHECK(find_engine("generic") == EngineKind::generic);
  CHECK(find_engine("SGLang") == EngineKind::sglang);
  CHECK(find_engine("Ollama") == EngineKind::ollama);
  CHECK(find_engine("trtllm") == EngineKind::trtllm);
  CHECK(find_engine("TensorRT-LLM") == EngineKind::trtllm);
  CHECK_FALSE(find_engine("tensorrt").has_value());
  CHECK(engine_ids() == "generic, vllm, llamacpp, sglang, ollama or trtllm");
  // vLLM pages KV in 16-token blocks; llama.cpp pads the context to 256 (docs/engines.md).
  CHECK(engine_traits(EngineKind::vllm).context_step_tokens == 16);
  CHECK(engine_traits(EngineKind::llamacpp).context_step_tokens == 256);
  CHECK(engine_traits(EngineKind::generic).context_step_tokens == 1);
  CHECK(engine_traits(EngineKind::sglang).context_step_tokens == 1); // a pool of tokens (page size 1)
  CHECK(engine_takes_kv(EngineKind::sglang, Dtype::f8_e5m2));
  CHECK_FALSE(engine_takes_kv(EngineKind::sglang, Dtype::q8_0));
  CHECK(engine_takes_kv(EngineKind::vllm, Dtype::f8_e4m3));
  CHECK_FALSE(engine_takes_kv(EngineKind::vllm, Dtype::q8_0));
  CHECK(engine_takes_kv(EngineKind::llamacpp, Dtype::q8_0));
  CHECK_FALSE(engine_takes_kv(EngineKind::llamacpp, Dtype::f8_e4m3));
  CHECK(engine_takes_kv(EngineKind::generic, Dtype::q4_0));
  // Ollama: llama.cpp's padding; OLLAMA_KV_CACHE_TYPE's three types.
  CHECK(engine_traits(EngineKind::ollama).context_step_tokens == 256);
  CHECK(engine_takes_kv(EngineKind::ollama, Dtype::q4_0));
  CHECK_FALSE(engine_takes_kv(EngineKind::ollama, Dtype::q5_1));
  // TensorRT-LLM's pool (KVCacheManager.get_cache_bytes_per_token) takes NVFP4, which no other
  // engine's cache does (dtype_table's kv_allowed is false); not fp8_e5m2 nor int8.
  CHECK(engine_traits(EngineKind::trtllm).context_step_tokens == 1);
  CHECK(engine_takes_kv(EngineKind::trtllm, Dtype::nvfp4));
  CHECK(engine_takes_kv(EngineKind::trtllm, Dtype::f8_e4m3));
  CHECK_FALSE(engine_takes_kv(EngineKind::trtllm, Dtype::f8_e5m2));
  CHECK_FALSE(engine_takes_kv(EngineKind::trtllm, Dtype::i8));
  CHECK_FALSE(engine_takes_kv(EngineKind::vllm, Dtype::nvfp4));
  CHECK_FALSE(traits(Dtype::nvfp4).kv_allowed);
  CHECK(ggml_type_name(Dtype::f16) == "f16");
  CHECK(ggml_type_name(Dtype::q8_0) == "q8_0");
}

namespace {

nlohmann::json check_json(const std::string& flag, const std::string& command, const std::string& gpu) {
  app::Options o;
  o.check = true;
  o.format = "json";
  o.gpus = {app::Value::flag("--gpu", gpu)};
  if (flag == "--vllm") o.vllm_command = command;
  else o.llama_server_command = command;
  return nlohmann::json::parse(app::run(o).out);
}

} // namespace

TEST_CASE("check: a verdict in the engine's terms agrees with the estimate's fit row", "[app][check]") {
  SECTION("vLLM: needs its memory request; headroom is the KV memory beyond the requests") {
    const auto j = check_json("--vllm", "vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 2 --max-model-len 32768 "
                                        "--max-num-seqs 4", "2xh100");
    const auto& d = j["deployments"][0];
    const auto& engine = d["report"]["engine"];
    const auto& row = d["report"]["fit"][0];
    CHECK(d["engine"] == "vllm");
    CHECK(d["required_bytes_per_gpu"] == engine["requested_bytes"]);
    // KV memory - needed x batch, the same figure as the table's headroom.
    const std::int64_t kv = engine["kv_cache_memory_bytes"], need = engine["needed_bytes"], batch = engine["batch"];
    CHECK(d["headroom_bytes"] == kv - need * batch);
    CHECK(d["headroom_bytes"] == row["headroom_bytes"]);
    CHECK((d["status"] == "fits") == row["fits"].get<bool>());
  }
  SECTION("llama.cpp: the busiest device decides, layers split over the GPUs") {
    const auto j = check_json("--llama-server", "llama-server -m Meta-Llama-3.1-70B-Instruct-Q4_K_M.gguf -c 16384 -ngl 99",
                              "2x4090");
    const auto& d = j["deployments"][0];
    const auto& row = d["report"]["fit"][0];
    CHECK(d["engine"] == "llamacpp");
    CHECK(d["count"] == 2);
    CHECK(d["pp"] == 2);
    std::uint64_t busiest = 0;
    for (const auto& dev : d["report"]["engine"]["devices"]) busiest = std::max(busiest, dev["total_bytes"].get<std::uint64_t>());
    CHECK(d["required_bytes_per_gpu"] == busiest);
    CHECK(d["headroom_bytes"] == row["headroom_bytes"]);
  }
}

TEST_CASE("app::run: bad input is a Failure naming the flag", "[app]") {
  app::Options o;
  o.model = "llama3.1-8b";
  o.kv = app::Value::flag("--kv", "fp9");
  try {
    (void)app::run(o);
    FAIL("no failure");
  } catch (const app::Failure& f) {
    CHECK(f.error.code == ErrorCode::invalid_argument);
    CHECK(f.error.message.starts_with("--kv: unknown KV-cache dtype 'fp9'"));
  }
}

TEST_CASE("app::run: a flag and a deployment's key are read by the same code, each error at its origin", "[app]") {
  const auto failure = [](const app::Value& policy) {
    app::Options o;
    o.model = "llama3.1-8b";
    o.kv_policy = policy;
    try {
      (void)app::run(o);
    } catch (const app::Failure& f) {
      return f;
    }
    FAIL("no failure");
    throw std::logic_error("unreachable");
  };
  const std::string what = "sinks: 'x' is not a token count (examples: 8192, 128k, 1m)";
  const app::Failure flag = failure(app::Value::flag("--kv-policy", "streaming:sinks=x"));
  CHECK(flag.error.message == "--kv-policy " + what);
  CHECK(flag.error.file.empty());
  CHECK_FALSE(flag.placed);
  app::Origin key{"deployments[0].kv_policy", "d.yaml:5:16: ", "d.yaml", 5, 16, true};
  const app::Failure deployed = failure(app::Value{"streaming:sinks=x", key});
  CHECK(deployed.error.message == "d.yaml:5:16: deployments[0].kv_policy " + what);
  CHECK(deployed.error.file == "d.yaml");
  CHECK(deployed.error.line == 5);
  CHECK(deployed.error.column == 16);
  CHECK(deployed.placed);
  // A message that names several flags names them for a flag, the key for a deployment.
  CHECK(app::error_at(app::Origin::flag("--tp"), ErrorCode::invalid_argument, "why", "--tp/--pp").message == "--tp/--pp: why");
  key.name = "deployments[0].tp";
  CHECK(app::error_at(key, ErrorCode::invalid_argument, "why", "--tp/--pp").message == "d.yaml:5:16: deployments[0].tp: why");
}
