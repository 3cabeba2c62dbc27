// Quantized uploads' names: the format they say and the base they reduce to.
#include "helpers.hpp"
#include "vramcalc/checkpoint.hpp"

#include <fstream>
#include <string>
#include <vector>

using namespace vramcalc;

namespace {

void check_name(std::string_view name, std::string_view base, std::string_view format) {
  INFO(name);
  const RepoName r = parse_repo_name(name);
  CHECK(r.base == base);
  REQUIRE(r.format.has_value());
  CHECK(*r.format == format);
  CHECK(parse_weight_format(*r.format, Dtype::bf16).has_value());
}

} // namespace

TEST_CASE("repository names: quantization suffixes, case and separators") {
  check_name("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", "hugging-quants/Meta-Llama-3.1-70B-Instruct",
             "awq-int4-g128");
  check_name("Qwen/Qwen2.5-72B-Instruct-AWQ", "Qwen/Qwen2.5-72B-Instruct", "awq-int4-g128");
  check_name("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "Qwen/Qwen2.5-7B-Instruct", "gptq-int4-g128");
  check_name("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8", "Qwen/Qwen2.5-7B-Instruct", "gptq-int8-g128");
  check_name("meta-llama/Llama-3.1-405B-Instruct-FP8", "meta-llama/Llama-3.1-405B-Instruct", "fp8");
  check_name("RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", "RedHatAI/Llama-3.3-70B-Instruct", "fp8-channel");
  check_name("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", "RedHatAI/Meta-Llama-3.1-8B-Instruct",
             "w4a16-g128");
  check_name("neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8", "neuralmagic/Meta-Llama-3.1-70B-Instruct",
             "w8a8");
  check_name("unsloth/Llama-3.3-70B-Instruct-bnb-4bit", "unsloth/Llama-3.3-70B-Instruct", "nf4");
  check_name("unsloth/Qwen3-8B-unsloth-bnb-4bit", "unsloth/Qwen3-8B", "nf4");
  check_name("nvidia/DeepSeek-R1-FP4", "nvidia/DeepSeek-R1", "nvfp4");
  check_name("RedHatAI/Qwen3-32B-NVFP4", "RedHatAI/Qwen3-32B", "nvfp4");
  check_name("turboderp/Llama-3.1-8B-Instruct-exl2-4.0bpw", "turboderp/Llama-3.1-8B-Instruct", "exl2-4.0");
  check_name("bartowski/Qwen2.5-7B-Instruct-exl2_6.5bpw", "bartowski/Qwen2.5-7B-Instruct", "exl2-6.5");
  check_name("some-org/model_awq", "some-org/model", "awq-int4-g128");
}

TEST_CASE("repository names: GGUF repositories, by tag, by name, or llama.cpp's -hf default") {
  check_name("unsloth/Qwen3-8B-GGUF:Q8_0", "unsloth/Qwen3-8B", "q8_0");
  check_name("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:iq4_xs", "bartowski/Meta-Llama-3.1-8B-Instruct", "iq4_xs");
  check_name("hugging-quants/Llama-3.2-3B-Instruct-Q4_K_M-GGUF", "hugging-quants/Llama-3.2-3B-Instruct", "q4_k_m");
  const RepoName plain = parse_repo_name("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF");
  CHECK(plain.gguf);
  CHECK_FALSE(plain.gguf_tag);
  CHECK(plain.format == std::optional<std::string>("q4_k_m"));
  const RepoName bad = parse_repo_name("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q9_Z");
  CHECK_FALSE(bad.format.has_value());
  CHECK(bad.unknown == "-GGUF:Q9_Z");
}

TEST_CASE("repository names: no suffix, or one that does not say the format") {
  for (std::string_view n : {"meta-llama/Llama-3.1-8B-Instruct", "llama3-70b", "Qwen/Qwen3-8B", "", "/", "-awq"}) {
    const RepoName r = parse_repo_name(n);
    CHECK_FALSE(r.format.has_value());
    CHECK(r.base == n);
  }
  CHECK(parse_repo_name("someone/Llama-3.1-8B-int4").unknown == "-int4");
  CHECK(parse_repo_name("mlx-community/Llama-3.2-3B-Instruct-4bit").unknown == "-4bit");
}

TEST_CASE("hub names people deploy resolve to the model, the checkpoint's format and its context") {
  // tests/data/checkpoints.tsv: official repositories (base, Instruct, dated), quantized
  // uploads (AWQ, GPTQ, FP8, compressed-tensors, NVFP4, MXFP4, bitsandbytes, GGUF, EXL2) and
  // re-uploads, each with the model, the format and the maximum context vLLM defaults to.
  std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/checkpoints.tsv");
  REQUIRE(in);
  const io::Catalog& c = vramcalc::test::catalog();
  std::size_t rows = 0, quantized = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("#")) continue;
    std::vector<std::string> f;
    for (std::size_t start = 0;;) {
      const auto tab = line.find('\t', start);
      f.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    REQUIRE(f.size() == 6);
    INFO(f[0]);
    const auto m = c.resolve_model_name(f[0]);
    REQUIRE(m.has_value());
    CHECK(m->model->id == f[1]);
    const std::string format = m->weights_format.value_or(
        m->model->weights_format.value_or(std::string(traits(m->model->dtype).name)));
    CHECK(format == f[2]);
    const std::uint64_t max_context =
        m->checkpoint != nullptr && m->checkpoint->max_context != 0 ? m->checkpoint->max_context : m->model->max_context;
    CHECK(max_context == std::stoull(f[3]));
    ++rows;
    quantized += format != "bf16" && format != "fp16" ? 1u : 0u;
  }
  CHECK(rows >= 150);
  CHECK(quantized >= 90);
}

TEST_CASE("hub names: a base both sizes share is refused as ambiguous, not guessed") {
  // "mixtral-instruct" names neither 8x7B nor 8x22B.
  const auto m = vramcalc::test::catalog().resolve_model_name("casperhansen/mixtral-instruct-awq");
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().code == ErrorCode::unknown_model);
}

TEST_CASE("hub names: a fine-tune marker resolves to the base only when the base is known") {
  const io::Catalog& c = vramcalc::test::catalog();
  const auto m = c.resolve_model_name("huihui-ai/Qwen3-8B-abliterated");
  REQUIRE(m.has_value());
  CHECK(m->model->id == "qwen3-8b");
  CHECK_FALSE(m->exact_name);
  REQUIRE_FALSE(m->notes.empty());
  CHECK(m->notes.front().find("fine-tune of 'huihui-ai/Qwen3-8B'") != std::string::npos);
  // A marker over an unknown base is still unknown, and the message names what was typed.
  const auto u = c.resolve_model_name("someone/x-abliterated");
  REQUIRE_FALSE(u.has_value());
  CHECK(u.error().message.starts_with("unknown model 'someone/x-abliterated'"));
  // "abliterated" inside another word is no marker.
  CHECK_FALSE(c.resolve_model_name("someone/Qwen3-8B-abliteratedx").has_value());
}

TEST_CASE("hub names: a checkpoint's name without its organisation resolves as its org/name does") {
  const io::Catalog& c = vramcalc::test::catalog();
  // Qwen/Qwen3-4B-Instruct-2507 is a checkpoint of qwen3-4b with its own 262,144-token context.
  for (const char* name : {"Qwen/Qwen3-4B-Instruct-2507-AWQ", "Qwen3-4B-Instruct-2507-AWQ", "qwen3-4b-instruct-2507",
                           "unsloth/Qwen3-4B-Instruct-2507"}) {
    INFO(name);
    const auto m = c.resolve_model_name(name);
    REQUIRE(m.has_value());
    CHECK(m->model->id == "qwen3-4b");
    REQUIRE(m->checkpoint != nullptr);
    CHECK(m->checkpoint->repo == "Qwen/Qwen3-4B-Instruct-2507");
    CHECK(m->checkpoint->max_context == 262144);
  }
  // The catalog id names the catalog entry, not the checkpoint spelled like it
  // (deepseek-ai/DeepSeek-R1, 163,840 tokens).
  const auto r1 = c.resolve_model_name("deepseek-r1");
  REQUIRE(r1.has_value());
  CHECK(r1->checkpoint == nullptr);
  const auto org = c.resolve_model_name("deepseek-ai/DeepSeek-R1");
  REQUIRE(org.has_value());
  REQUIRE(org->checkpoint != nullptr);
  CHECK(org->checkpoint->max_context == 163840);
}
