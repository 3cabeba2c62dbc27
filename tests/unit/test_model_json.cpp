#include "vramcalc/io/model_json.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace vramcalc;

namespace {

const std::string base = R"({
  "schema": "vramcalc-model/1", "id": "m", "name": "M", "family": "f", "arch": "llama",
  "source": "https://example.org/config.json", "dtype": "bf16", "max_context": 4096,
  "hidden_size": 64, "num_layers": 2, "intermediate_size": 128, "vocab_size": 100,
  "tie_word_embeddings": false,
  "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 16}REST
})";

std::string with(const std::string& rest) {
  std::string s = base;
  s.replace(s.find("REST"), 4, rest);
  return s;
}

std::string error_of(const std::string& text) {
  auto r = io::parse_model_spec(text, "models/m.json");
  if (r) return "(loaded)";
  return r.error().message;
}

} // namespace

TEST_CASE("a minimal spec loads with defaults") {
  auto r = io::parse_model_spec(with(""), "m.json");
  REQUIRE(r.has_value());
  CHECK(r->attention.v_head_dim == 16);
  CHECK(r->layers.size() == 2);
  CHECK(r->layers[1].attention == AttentionKind::full);
  CHECK_FALSE(r->moe.has_value());
}

TEST_CASE("loader errors name the file, the JSON path and what is wrong") {
  CHECK(error_of(with(R"(, "extra": 1)")) == "models/m.json: /extra: unknown key");
  CHECK(error_of(with(R"(, "moe": {"num_experts": 8, "experts_per_token": 2, "expert_intermediate_size": 8, "typo": 1})")) ==
        "models/m.json: /moe/typo: unknown key");
  CHECK(error_of(R"({"schema": "vramcalc-model/1"})") == "models/m.json: /: missing required key 'id'");
  std::string s = with("");
  s.replace(s.find("\"num_kv_heads\": 2"), 17, "\"num_kv_heads\": \"2\"");
  CHECK(error_of(s) == "models/m.json: /attention/num_kv_heads: expected an integer, got a string \"2\"");
  s = with("");
  s.replace(s.find("\"num_kv_heads\": 2"), 17, "\"num_kv_heads\": 3");
  CHECK(error_of(s) == "models/m.json: /attention/num_kv_heads: must divide num_heads (4), got 3");
  s = with("");
  s.replace(s.find("\"num_layers\": 2"), 15, "\"num_layers\": 1000000000");
  CHECK(error_of(s) == "models/m.json: /num_layers: must be between 1 and 4,096, got 1000000000");
  s = with("");
  s.replace(s.find("\"hidden_size\": 64"), 17, "\"hidden_size\": -64");
  CHECK(error_of(s) == "models/m.json: /hidden_size: must be at least 1, got -64");
  // A format's unquantized modules: beside the format, by tensor group or role name.
  CHECK(error_of(with(R"(, "unquantized": ["attention"])")) ==
        "models/m.json: /unquantized: needs a weights format beside it (the modules that format leaves out)");
  CHECK(error_of(with(R"(, "weights_format": "nvfp4", "unquantized": ["self_attn"])")).starts_with(
      "models/m.json: /unquantized: 'self_attn' is neither a tensor group"));
  CHECK(error_of(with(R"(, "checkpoints": [{"repo": "a/b", "unquantized": ["attention"], "source": "x"}])")) ==
        "models/m.json: /checkpoints/0/unquantized: needs a weights format beside it (the modules that format leaves "
        "out)");
  CHECK(error_of(with(R"(, "weights_format": "nvfp4", "unquantized": ["attention", "attn_kv_b"])")) == "(loaded)");
}

TEST_CASE("layer patterns are checked") {
  CHECK(error_of(with(R"(, "layer_pattern": ["sliding", "full"])")) ==
        "models/m.json: /layer_pattern: has sliding layers but /attention/sliding_window is not set");
  CHECK(error_of(with(R"(, "layer_pattern": ["full", "bogus"])")) ==
        "models/m.json: /layer_pattern/1: unknown layer kind 'bogus' (expected full, sliding, chunked, none or mlp)");
  CHECK(error_of(with(R"(, "layer_types": ["full"])")) ==
        "models/m.json: /layer_types: has 1 entries, but num_layers is 2");
}

TEST_CASE("syntax errors give line and column, duplicate keys are errors") {
  CHECK(error_of("{\n  \"id\": 1,\n}") ==
        "models/m.json:3:1: invalid JSON: syntax error while parsing object key - unexpected '}'; expected string literal");
  CHECK(error_of(R"({"id": "a", "id": "b"})") == "models/m.json: /id: duplicate key");
  CHECK(error_of(R"({"a": [{"x": 1}, {"x": 1, "x": 2}]})") == "models/m.json: /a/1/x: duplicate key");
}

TEST_CASE("unsupported schema") {
  std::string s = with("");
  s.replace(s.find("vramcalc-model/1"), 16, "vramcalc-model/9");
  CHECK(error_of(s) == "models/m.json: /schema: unsupported schema 'vramcalc-model/9' (this vramcalc reads vramcalc-model/1)");
}

TEST_CASE("vision.llamacpp_clip: the projector's shape facts, checked") {
  const auto clip = [](const std::string& body) {
    return with(R"(, "vision": {"params": 1000, "source": "s", "llamacpp_clip": {)" + body + R"(, "source": "c"}})");
  };
  // Qwen3-VL 8B's: DeepStack layers 8, 16, 24 of 27, all three before the last two blocks.
  auto r = io::parse_model_spec(clip(R"("projector": "qwen3vl_merger", "patches": 8464, "heads": 16, "width": 1152,
      "ffn_width": 4304, "patch_size": 16, "blocks": 27, "deepstack_layers": [8, 16, 24])"), "m.json");
  REQUIRE(r.has_value());
  REQUIRE(r->vision_clip);
  CHECK(r->vision_clip->deepstack_kept == 3);
  CHECK(r->vision_clip->patch_size == 16);
  // Block 25 is one of the last two: its output is the next block's input, not kept.
  r = io::parse_model_spec(clip(R"("projector": "qwen3vl_merger", "patches": 8464, "heads": 16, "width": 1152,
      "ffn_width": 4304, "patch_size": 16, "blocks": 27, "deepstack_layers": [8, 25])"), "m.json");
  REQUIRE(r.has_value());
  CHECK(r->vision_clip->deepstack_kept == 1);
  CHECK(error_of(clip(R"("projector": "llava", "patches": 576, "heads": 16, "width": 1024, "ffn_width": 4096)")) ==
        "models/m.json: /vision/llamacpp_clip/projector: expected gemma3, gemma4v, internvl, kimik25, llama4, pixtral, "
        "qwen2.5vl_merger or qwen3vl_merger (the projector types whose compute buffer is measured), got 'llava'");
  CHECK(error_of(clip(R"("projector": "gemma4v", "patches": 2304, "heads": 16, "width": 1152, "ffn_width": 4304)")) ==
        "models/m.json: /vision/llamacpp_clip/patch_size: is required for projector gemma4v");
  CHECK(error_of(clip(R"("projector": "pixtral", "patches": 1024, "heads": 16, "width": 1024, "ffn_width": 4096,
      "patch_size": 14)")) == "models/m.json: /vision/llamacpp_clip/projection_width: is required for projector pixtral");
  CHECK(error_of(clip(R"("projector": "gemma4v", "patches": 2304, "heads": 16, "width": 1152, "ffn_width": 4304,
      "patch_size": 16, "blocks": 27, "deepstack_layers": [8])")) ==
        "models/m.json: /vision/llamacpp_clip/deepstack_layers: is for projector qwen3vl_merger, with blocks");
  CHECK(error_of(clip(R"("projector": "qwen3vl_merger", "patches": 8464, "heads": 16, "width": 1152,
      "ffn_width": 4304, "patch_size": 16, "blocks": 27, "deepstack_layers": [8, 27])")) ==
        "models/m.json: /vision/llamacpp_clip/deepstack_layers: element 1 is not a block index under blocks");
}
