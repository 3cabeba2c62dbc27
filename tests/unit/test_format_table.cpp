// weight_format_table (format_table.hpp): every row parses by its id and each alias, and
// the surfaces made from it (parse_weight_format's lists, engine_loads, the GGUF ftype view,
// `vramcalc --help`, `vramcalc list formats`, the shell completions) name exactly its rows.
#include "vramcalc/engine.hpp"
#include "vramcalc/format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace vramcalc;

// The table's own checks hold (they are static_asserts in the header; restated so a
// weakened header fails here too), and a few rows are what their sources say.
static_assert(format_table_checks::spellings_are_unique());
static_assert(format_table_checks::ranks_are_a_sequence());
static_assert(format_table_checks::gguf_rows_cover_the_ftypes());
static_assert(format_table_checks::kinds_agree());
static_assert(format_table_checks::plain_rows_are_floats());
static_assert(weight_format_table.size() == 58); // 25 named formats + 33 llama.cpp mixes

namespace {

constexpr const WeightFormatTraits* row_of(std::string_view id) {
  for (const auto& row : weight_format_table) {
    if (row.id == id) return &row;
  }
  return nullptr;
}

// llama.h: LLAMA_FTYPE_MOSTLY_Q4_K_M = 15, LLAMA_FTYPE_MOSTLY_BF16 = 32, MXFP4_MOE = 38.
static_assert(row_of("q4_k_m")->rule.llama_ftype == 15 && row_of("q4_k_m")->dtype == Dtype::q4_k);
static_assert(row_of("gguf-bf16")->rule.llama_ftype == 32);
static_assert(row_of("mxfp4_moe")->rule.llama_ftype == 38 && row_of("mxfp4_moe")->dtype == Dtype::mxfp4);
static_assert(row_of("int8")->rule.scale_bytes == 0 && row_of("w8a8")->rule.scale_bytes == 4);
static_assert(row_of("exl2-4.65")->loaded_by == loaded_by_no_engine);

std::vector<std::string> words(std::string_view list) {
  std::vector<std::string> out;
  format_table_checks::each_word(list, [&](std::string_view w) { out.emplace_back(w); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::vector<std::string_view> ranked_rows() {
  std::vector<const WeightFormatTraits*> rows;
  for (const auto& row : weight_format_table) {
    if (row.quality_rank != 0) rows.push_back(&row);
  }
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->quality_rank < b->quality_rank; });
  std::vector<std::string_view> out;
  for (const auto* row : rows) out.push_back(row->id);
  return out;
}

#ifdef VRAMCALC_BINARY
// The standard output of the built vramcalc with `args`.
std::string run_vramcalc(const std::string& args) {
  const std::string command = std::string("'") + VRAMCALC_BINARY + "' " + args;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}
#endif

} // namespace

TEST_CASE("format table: every row parses by its id and by each alias, in any case", "[format-table]") {
  for (const auto& row : weight_format_table) {
    for (const Dtype native : {Dtype::bf16, Dtype::f16, Dtype::f32}) {
      INFO(row.id);
      const auto by_id = parse_weight_format(row.id, native);
      REQUIRE(by_id.has_value());
      CHECK(by_id->id == row.id);
      CHECK(by_id->kind == row.kind);
      CHECK(by_id->dtype == row.dtype);
      const auto upper_case = parse_weight_format(upper(row.id), native);
      REQUIRE(upper_case.has_value());
      CHECK(upper_case->id == row.id);
      if (!row.description.empty()) CHECK(by_id->description == row.description);
      for (const std::string& alias : words(row.aliases)) {
        INFO(alias);
        const auto by_alias = parse_weight_format(alias, native);
        REQUIRE(by_alias.has_value());
        CHECK(by_alias->id == row.id);
        CHECK(by_alias->description == by_id->description);
      }
      if (row.kind == FormatKind::gguf) {
        CHECK(by_id->ftype == row.rule.ftype);
        // "gguf-q4_k_m", "Q4-K-M", "q4km" name Q4_K_M (the float mixes' ids already start with "gguf-").
        const std::string id(row.id.starts_with("gguf-") ? row.id.substr(5) : row.id);
        std::string squeezed;
        for (char c : id) {
          if (c != '_') squeezed += c;
        }
        // Bare, "f16" is the plain float, not the GGUF mix.
        if (row.id.starts_with("gguf-")) squeezed = "gguf" + squeezed;
        for (const std::string& spelling : {"gguf-" + id, "GGUF_" + upper(id), squeezed}) {
          INFO(spelling);
          const auto f = parse_weight_format(spelling, native);
          REQUIRE(f.has_value());
          CHECK(f->id == row.id);
        }
      }
    }
  }
  // int8 (W8A16) keeps its channel scales in the model's dtype: 2 bytes under bf16, 4 under fp32.
  CHECK(parse_weight_format("int8", Dtype::bf16)->scale_bytes == 2);
  CHECK(parse_weight_format("int8", Dtype::f32)->scale_bytes == 4);
  CHECK(parse_weight_format("w8a8", Dtype::bf16)->scale_bytes == 4);
}

TEST_CASE("format table: an unknown name is an invalid_argument Error", "[format-table]") {
  const auto f = parse_weight_format("Q9_K", Dtype::bf16);
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().code == ErrorCode::invalid_argument);
  CHECK(f.error().message == "unknown weight format 'Q9_K'");
}

TEST_CASE("format table: the lists are its rows", "[format-table]") {
  std::vector<std::string_view> ids;
  for (const auto& row : weight_format_table) ids.push_back(row.id);
  CHECK(weight_format_names() == ids);
  CHECK(listed_weight_formats() == ranked_rows());
  CHECK(listed_weight_formats().size() == 31);
  std::vector<std::string_view> help;
  for (const auto& row : weight_format_table) {
    if (!row.help.empty()) {
      help.push_back(row.help);
      INFO(row.help);
      CHECK(parse_weight_format(row.help, Dtype::bf16)->id == row.id); // the spelling names its row
    }
  }
  CHECK(help_weight_formats() == help);
}

TEST_CASE("format table: engines load what their bits say", "[format-table]") {
  for (const auto& row : weight_format_table) {
    INFO(row.id);
    const WeightFormat f = *parse_weight_format(row.id, Dtype::bf16);
    CHECK(engine_loads(EngineKind::generic, f));
    CHECK(engine_loads(EngineKind::vllm, f) == ((row.loaded_by & loaded_by_vllm) != 0));
    CHECK(engine_loads(EngineKind::llamacpp, f) == ((row.loaded_by & loaded_by_llamacpp) != 0));
  }
}

TEST_CASE("format table: the GGUF ftype view follows enum GgufFtype", "[format-table]") {
  const auto ftypes = gguf_ftypes();
  REQUIRE(ftypes.size() == static_cast<std::size_t>(GgufFtype::mxfp4_moe) + 1);
  for (std::size_t i = 0; i < ftypes.size(); ++i) {
    INFO(ftypes[i].name);
    CHECK(static_cast<std::size_t>(ftypes[i].id) == i);
    const WeightFormatTraits* row = row_of(ftypes[i].name);
    REQUIRE(row != nullptr);
    CHECK(row->kind == FormatKind::gguf);
    CHECK(row->rule.ftype == ftypes[i].id);
    CHECK(ftypes[i].llama_ftype == row->rule.llama_ftype);
    CHECK(ftypes[i].default_type == row->dtype);
    CHECK(gguf_ftype_by_llama_ftype(row->rule.llama_ftype) == &ftypes[i]);
  }
  // llama.h has no 4, 5, 6 (removed Q4_2 / Q4_3 / Q4_1_SOME_F16) and nothing past 38 here.
  CHECK(gguf_ftype_by_llama_ftype(4) == nullptr);
  CHECK(gguf_ftype_by_llama_ftype(39) == nullptr);
}

#ifdef VRAMCALC_BINARY
TEST_CASE("format table: --help and list formats name exactly its rows", "[format-table]") {
  const std::string help = run_vramcalc("--help");
  const std::string lead = "weight format (comma list or 'all' to compare): ";
  const auto from = help.find(lead);
  REQUIRE(from != std::string::npos);
  const auto to = help.find(" ... (", from);
  REQUIRE(to != std::string::npos);
  const std::vector<std::string> shown = words(std::string_view(help).substr(from + lead.size(), to - from - lead.size()));
  const auto expected = help_weight_formats();
  CHECK(std::vector<std::string>(expected.begin(), expected.end()) == shown);

  const nlohmann::json list = nlohmann::json::parse(run_vramcalc("list formats --json"));
  std::vector<std::string> listed;
  for (const auto& f : list.at("formats")) listed.push_back(f.at("id").get<std::string>());
  const auto ranked = ranked_rows();
  CHECK(std::vector<std::string>(ranked.begin(), ranked.end()) == listed);
}
#endif

#ifdef VRAMCALC_BASH_COMPLETION
TEST_CASE("format table: the completions offer exactly its ranked rows and 'all'", "[format-table]") {
  std::ifstream in(VRAMCALC_BASH_COMPLETION);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string bash = text.str();
  const std::string lead = "_vramcalc_formats='";
  const auto from = bash.find(lead);
  REQUIRE(from != std::string::npos);
  const auto to = bash.find('\'', from + lead.size());
  REQUIRE(to != std::string::npos);
  const std::vector<std::string> offered = words(std::string_view(bash).substr(from + lead.size(), to - from - lead.size()));
  auto expected = ranked_rows();
  expected.push_back("all");
  CHECK(std::vector<std::string>(expected.begin(), expected.end()) == offered);
}
#endif
