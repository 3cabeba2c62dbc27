#include "helpers.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/render.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;
using vramcalc::test::settings_for;

namespace {

const GpuSpec& gpu(const std::string& id) { return **catalog().find_gpu(id); }

} // namespace

TEST_CASE("memory breakdown: weights + KV + overhead") {
  const auto r = estimate(model("llama3-70b"), settings_for("bf16", Dtype::f8_e4m3, 131072), catalog().gpus).value();
  CHECK(r.memory.weights_bytes == 141'107'412'992ull);  // 2 x 70,553,706,496
  CHECK(r.memory.kv_cache_bytes == 21'474'836'480ull);  // 2 x 80 x 8 x 128 x 131,072
  CHECK(r.memory.kv_bytes_per_token == 163'840);        // 160 KiB
  CHECK(r.memory.overhead_bytes == 1ull << 30);
  CHECK(r.memory.total_bytes == 141'107'412'992ull + 21'474'836'480ull + (1ull << 30));
  CHECK(r.fit.size() == catalog().gpus.size());
}

TEST_CASE("fit: the smallest count that holds the busiest GPU's weights + KV + overhead") {
  Settings s = settings_for("bf16", Dtype::f8_e4m3, 131072);
  s.gpus.push_back({gpu("h100"), 0});
  const auto r = estimate(model("llama3-70b"), s, catalog().gpus).value();
  REQUIRE(r.fit.size() == 1);
  const FitRow& f = r.fit[0];
  // model bytes 162,582,249,472; an H100 has 85,520,809,984 usable; minus 1 GiB overhead
  // = 84,447,068,160 per GPU -> ceil(162,582,249,472 / 84,447,068,160) = 2 GPUs
  CHECK(f.min_count == 2);
  CHECK(f.count == 2);
  CHECK(f.fits);
  CHECK(f.usable_bytes == 85'520'809'984ull);
  // per GPU with tensor parallel 2: the matrices are halved, the norms replicated:
  //   matrices (70,553,706,496 - 1,318,912 norm weights) x 2 bytes / 2 = 70,552,387,584
  //   norms 1,318,912 x 2 bytes                                        =      2,637,824
  //   KV: 4 of the 8 KV heads: 21,474,836,480 / 2                      = 10,737,418,240
  //   overhead                                                         =  1,073,741,824
  //                                                                      82,366,185,472
  CHECK(f.tp == 2);
  CHECK(f.pp == 1);
  CHECK(f.required_bytes_per_gpu == 82'366'185'472ull);
  CHECK(f.headroom_bytes == 85'520'809'984ll - 82'366'185'472ll);
}

TEST_CASE("fit: a requested count that is too small reports the shortfall") {
  Settings s = settings_for("bf16", Dtype::f16, 8192);
  s.gpus.push_back({gpu("rtx4090"), 1});
  const auto r = estimate(model("llama3-70b"), s, catalog().gpus).value();
  const FitRow& f = r.fit[0];
  CHECK_FALSE(f.fits);
  CHECK(f.count == 1);
  CHECK(f.headroom_bytes < 0);
  // 141,107,412,992 + 2,684,354,560 (KV) = 143,791,767,552; 4090: 25,757,220,864 - 2^30
  // = 24,683,479,040 per GPU -> ceil(5.825...) = 6
  CHECK(f.min_count == 6);
}

TEST_CASE("Apple unified memory: only the usable fraction counts") {
  const GpuSpec& m = gpu("m3-ultra-512gb");
  CHECK(m.memory_bytes == 512ull << 30);
  CHECK(usable_bytes(m) == 384ull << 30); // 75%
}

TEST_CASE("catalog rows are sorted: fewest GPUs, then least memory") {
  const auto r = estimate(model("llama3-8b"), settings_for("bf16", Dtype::bf16, 8192), catalog().gpus).value();
  for (std::size_t i = 1; i < r.fit.size(); ++i) {
    const FitRow& a = r.fit[i - 1];
    const FitRow& b = r.fit[i];
    if (a.min_count == b.min_count) CHECK(a.usable_bytes <= b.usable_bytes);
    else if (b.min_count != 0) CHECK(a.min_count < b.min_count);
  }
}

TEST_CASE("overflow becomes an error, not a wrapped number") {
  auto r = estimate(model("llama3-70b"), settings_for("bf16", Dtype::f16, 1ull << 40, 1'000'000), catalog().gpus);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "the KV cache size does not fit in 64 bits");
}

TEST_CASE("JSON output carries integer byte fields") {
  const auto r = estimate(model("llama3-70b"), settings_for("bf16", Dtype::f8_e4m3, 131072), catalog().gpus).value();
  const std::string j = render_json(r);
  CHECK(j.find("\"schema_version\":1") != std::string::npos);
  CHECK(j.find("\"kv_cache_bytes\":21474836480") != std::string::npos);
  CHECK(j.find("\"params_total\":70553706496") != std::string::npos);
}

TEST_CASE("KV groups: each kind of layer multiplies out with the tokens it holds", "[kv-groups]") {
  SECTION("Gemma 3 27B: 10 full layers hold the context, 52 sliding-window layers their 1,024") {
    const auto r = estimate(model("gemma3-27b"), settings_for("bf16", Dtype::bf16, 131072), catalog().gpus).value();
    REQUIRE(r.memory.kv_groups.size() == 2);
    const KvGroup& full = r.memory.kv_groups[0];
    const KvGroup& window = r.memory.kv_groups[1];
    // one layer, one token: K and V, 16 KV heads x 128 x 2 bytes each = 8,192 bytes
    CHECK(full.kind == "full");
    CHECK(full.layers == 10);
    CHECK(full.bytes_per_token == 81'920);              // 10 x 8,192
    CHECK(full.tokens_held == 131'072);
    CHECK(full.bytes == 10'737'418'240ull);             // 81,920 x 131,072
    CHECK(window.kind == "window");
    CHECK(window.layers == 52);
    CHECK(window.window_tokens == 1024);
    CHECK(window.bytes_per_token == 425'984);           // 52 x 8,192
    CHECK(window.tokens_held == 1024);
    CHECK(window.bytes == 436'207'616ull);              // 425,984 x 1,024
    CHECK(r.memory.kv_cache_bytes == 10'737'418'240ull + 436'207'616ull);
  }
  SECTION("gpt-oss-120b at 2 sequences: 18 full and 18 sliding-window (128) layers") {
    const auto r = estimate(model("gpt-oss-120b"), settings_for("mxfp4", Dtype::bf16, 131072, 2), catalog().gpus).value();
    REQUIRE(r.memory.kv_groups.size() == 2);
    // one layer, one token: K and V, 8 KV heads x 64 x 2 bytes each = 2,048 bytes; x 18 = 36,864
    CHECK(r.memory.kv_groups[0].bytes == 9'663'676'416ull); // 36,864 x 131,072 x 2
    CHECK(r.memory.kv_groups[1].bytes == 9'437'184ull);     // 36,864 x 128 x 2
    CHECK(r.memory.kv_cache_bytes == 9'663'676'416ull + 9'437'184ull);
  }
  SECTION("over the catalog, the groups sum to the KV cache and each is bytes/token x tokens x batch") {
    for (const ModelSpec& m : catalog().models) {
      INFO(m.id);
      const auto r = estimate(m, settings_for("bf16", Dtype::bf16, 20000, 3, m.dtype), catalog().gpus).value();
      std::uint64_t sum = 0, per_token = 0;
      for (const KvGroup& g : r.memory.kv_groups) {
        CHECK(g.bytes == g.bytes_per_token * g.tokens_held * 3);
        CHECK(g.tokens_held == (g.window_tokens != 0 ? std::min<std::uint64_t>(g.window_tokens, 20000) : 20000));
        sum += g.bytes;
        per_token += g.bytes_per_token;
      }
      CHECK(sum == r.memory.kv_cache_bytes);
      CHECK(per_token == r.memory.kv_bytes_per_token);
    }
  }
}
