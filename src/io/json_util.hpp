// Strict JSON reading for the loaders: every error names the origin and the JSON path,
// unknown keys and duplicate keys are errors. Private to src/io.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/io/gpu_json.hpp"
#include "vramcalc/model.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io::detail {

// Thrown inside a loader, caught at its public entry and returned as std::unexpected.
struct LoadFailure {
  Error error;
};

// Parses text; syntax errors and duplicate keys become LoadFailure with line:column.
// Keys::trusted skips the duplicate-key pass (most of the parse time) for the catalog built
// into the binary, which the tests parse strictly ("every embedded file is strict JSON").
enum class Keys { check_duplicates, trusted };
nlohmann::json parse_strict(std::string_view text, const std::string& origin, ErrorCode code,
                            Keys keys = Keys::check_duplicates);

// The loaders for the embedded catalog (Keys::trusted).
std::expected<ModelSpec, Error> parse_model_spec_embedded(std::string_view text, std::string_view origin);
std::expected<GpuCatalog, Error> parse_gpu_catalog_embedded(std::string_view text, std::string_view origin);

class ObjectReader {
public:
  ObjectReader(const nlohmann::json& j, std::string origin, std::string path, ErrorCode code);

  [[noreturn]] void fail(std::string_view key, const std::string& what) const;
  [[noreturn]] void fail_here(const std::string& what) const;

  bool has(std::string_view key) const;
  std::uint64_t u64(std::string_view key, std::uint64_t min, std::uint64_t max);
  std::optional<std::uint64_t> opt_u64(std::string_view key, std::uint64_t min, std::uint64_t max);
  std::string str(std::string_view key);
  std::optional<std::string> opt_str(std::string_view key);
  bool boolean(std::string_view key);
  bool opt_bool(std::string_view key, bool fallback);
  std::optional<double> opt_number(std::string_view key, double min, double max); // null = absent
  double number(std::string_view key, double min, double max);
  std::optional<bool> opt_bool_or_null(std::string_view key);
  std::vector<std::string> str_array(std::string_view key);
  std::optional<ObjectReader> opt_object(std::string_view key);
  ObjectReader object(std::string_view key);
  const nlohmann::json& array(std::string_view key);
  std::string path_of(std::string_view key) const;
  ObjectReader element(const nlohmann::json& array, std::string_view key, std::size_t index) const;

  // Fails on the first key that was never read.
  void finish() const;

private:
  const nlohmann::json* json_;
  std::string origin_;
  std::string path_;
  ErrorCode code_;
  std::set<std::string, std::less<>> used_;
  const nlohmann::json* get(std::string_view key);
};

} // namespace vramcalc::io::detail
