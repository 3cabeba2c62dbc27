// Prices: exact micro-dollars, the instances a layout needs, the table's loader.
#include "helpers.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/price.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;

TEST_CASE("dollar amounts are read and printed exactly", "[prices]") {
  CHECK(parse_usd_micros("80.00") == 80'000'000u);
  CHECK(parse_usd_micros("2.69") == 2'690'000u);
  CHECK(parse_usd_micros("3.9492") == 3'949'200u);
  CHECK(parse_usd_micros("0.999999") == 999'999u);
  CHECK(parse_usd_micros("12") == 12'000'000u);
  CHECK_FALSE(parse_usd_micros("1.0000001")); // a seventh decimal is not a micro-dollar
  CHECK_FALSE(parse_usd_micros("-1"));
  CHECK_FALSE(parse_usd_micros("1e3"));
  CHECK_FALSE(parse_usd_micros("1."));
  CHECK_FALSE(parse_usd_micros(".5"));
  CHECK_FALSE(parse_usd_micros("99999999999")); // more than 1e9 dollars
  CHECK(format_usd(80'000'000) == "80.00");
  CHECK(format_usd(13'658'400) == "13.6584");
  CHECK(format_usd(999'999) == "0.999999");
  // Seven 1.9512 instances: 7 x 1,951,200 = 13,658,400 micro-dollars, no float drift.
  CHECK(format_usd(7 * *parse_usd_micros("1.9512")) == "13.6584");
}

TEST_CASE("an offer rents whole instances and keeps a tensor-parallel group in one", "[prices]") {
  const std::vector<PriceRow> rows{
      {"A", "eight", "h100-sxm", 8, 80'000'000, "2026-04-14", "https://a", ""},
      {"B", "one", "h100-sxm", 1, 2'690'000, "2026-05-22", "https://b", ""},
      {"B", "two", "h100-sxm", 2, 5'000'000, "2026-05-22", "https://b", ""},
  };
  // tp4: only the 8-GPU instance holds a group of 4; one instance holds 2 groups.
  auto o = cheapest_offer(rows, "h100-sxm", 4, 1);
  REQUIRE(o);
  CHECK(o->row.instance == "eight");
  CHECK(o->instances == 1);
  CHECK(o->usd_micros_per_hour == 80'000'000u);
  // tp4 pp3: 3 groups, 2 per instance -> ceil(3 / 2) = 2 instances = 160 dollars.
  o = cheapest_offer(rows, "h100-sxm", 4, 3);
  REQUIRE(o);
  CHECK(o->instances == 2);
  CHECK(o->usd_micros_per_hour == 160'000'000u);
  // tp1 pp3: three 1-GPU instances, 3 x 2.69 = 8.07 dollars (cheaper than two 2-GPU ones: 10.00).
  o = cheapest_offer(rows, "h100-sxm", 1, 3);
  REQUIRE(o);
  CHECK(o->row.instance == "one");
  CHECK(o->usd_micros_per_hour == 8'070'000u);
  // tp2: B's 2-GPU instance (5.00) beats A's 8-GPU one (80.00); per provider, cheapest first.
  const auto by = offers_by_provider(rows, "h100-sxm", 2, 1);
  REQUIRE(by.size() == 2);
  CHECK(by[0].row.instance == "two");
  CHECK(by[1].row.instance == "eight");
  CHECK_FALSE(cheapest_offer(rows, "h200", 1, 1));
  CHECK_FALSE(cheapest_offer(rows, "h100-sxm", 16, 1)); // no instance holds 16
}

TEST_CASE("dollars per million output tokens: the hourly price over the decode bound", "[prices]") {
  // 12.50 $/h at 1,000 tok/s: 12.5 / 3.6e6 tokens x 1e6 = 3.4722... $/Mtok.
  CHECK(*usd_per_million_tokens(12'500'000, 1000.0) == Approx(12.5 / 3.6));
  CHECK_FALSE(usd_per_million_tokens(12'500'000, 0.0));
}

TEST_CASE("the built-in price table loads, every row sourced and dated", "[prices]") {
  const auto t = io::load_builtin_prices(catalog().gpus);
  REQUIRE(t.has_value());
  CHECK(t->rows.size() >= 10);
  for (const PriceRow& r : t->rows) {
    INFO(r.provider << " " << r.instance);
    CHECK(r.source.starts_with("https://"));
    CHECK(r.date.size() == 10);
    CHECK(r.usd_micros_per_hour > 0);
    CHECK((*catalog().find_gpu(r.gpu))->id == r.gpu);
  }
}

TEST_CASE("a bad price file names the file and the JSON path", "[prices]") {
  const auto err = [](std::string_view text) {
    auto t = io::parse_price_table(text, "p.json", catalog().gpus);
    REQUIRE_FALSE(t.has_value());
    return t.error().message;
  };
  const std::string head = R"({"schema": "vramcalc-prices/1", "revision": "r", "prices": [)";
  const std::string row = R"({"provider": "X", "instance": "Y", "gpu": "h100", "gpus": 8, "usd_per_hour": "1.5", "date": "2026-01-31", "source": "https://x")";
  CHECK(io::parse_price_table(head + row + "}]}", "p.json", catalog().gpus).value().rows.at(0).gpu == "h100-sxm");
  CHECK(err(head + row + R"(, "extra": 1}]})") == "p.json: /prices/0/extra: unknown key");
  CHECK(err(head + R"({"provider": "X", "instance": "Y", "gpu": "h100", "gpus": 8, "usd_per_hour": "1.5", "date": "2026-13-01", "source": "https://x"}]})") ==
        "p.json: /prices/0/date: expected YYYY-MM-DD, got '2026-13-01'");
  CHECK(err(head + R"({"provider": "X", "instance": "Y", "gpu": "h100", "gpus": 0, "usd_per_hour": "1.5", "date": "2026-01-01", "source": "https://x"}]})")
            .starts_with("p.json: /prices/0/gpus: "));
  CHECK(err(R"({"schema": "vramcalc-prices/2", "revision": "r", "prices": []})")
            .starts_with("p.json: /schema: unsupported schema"));
}

TEST_CASE("plan ranks by dollars per hour or per million tokens", "[prices]") {
  const ModelSpec& m = **catalog().find_model("llama3.1-70b");
  const std::vector<PriceRow> rows{
      {"A", "h100x8", "h100-sxm", 8, 80'000'000, "2026-04-14", "https://a", ""},
      {"B", "h200x8", "h200", 8, 40'000'000, "2026-04-14", "https://b", ""},
  };
  Settings s;
  s.weights = parse_weight_format("bf16", m.dtype).value();
  s.context_tokens = 32768;
  s.batch = 16;
  s.prices = rows;
  const std::vector<WeightFormat> formats{s.weights};
  const auto by_hour = plan(m, s, catalog().gpus, formats, PlanRank::per_hour);
  REQUIRE(by_hour.size() > 2);
  CHECK(by_hour[0].gpu == "h200");
  CHECK(by_hour[0].cost->usd_micros_per_hour == 40'000'000u);
  CHECK(by_hour[1].gpu == "h100-sxm");
  // $/Mtok = micro-dollars per hour / (3600 x aggregate tokens per second).
  CHECK(*by_hour[0].usd_per_million_output_tokens ==
        Approx(40e6 / (3600 * *by_hour[0].aggregate_decode_tokens_per_s)));
  const auto by_token = plan(m, s, catalog().gpus, formats, PlanRank::per_token);
  // H100 tp4 decodes at 4 x 3,350 GB/s; H200 pp3 at 1 x 4,800 GB/s per token step: the H100s
  // cost less per token despite twice the hourly price.
  CHECK(by_token[0].gpu == "h100-sxm");
  CHECK(*by_token[0].usd_per_million_output_tokens < *by_token[1].usd_per_million_output_tokens);
  for (std::size_t i = 2; i < by_token.size(); ++i) CHECK_FALSE(by_token[i].cost);
}
