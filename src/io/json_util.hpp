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

// JSON nested deeper than this is refused by parse_strict ("nested deeper than 512 levels"):
// no model file needs more than a handful of levels, and deeper input only costs time
// (Python's json stops near 1,000 levels, serde_json at 128).
inline constexpr std::size_t max_json_depth = 512;

// Parses text; syntax errors and duplicate keys become LoadFailure with line:column.
// Keys::trusted skips the duplicate-key pass (most of the parse time) for the catalog built
// into the binary, which the tests parse strictly ("every embedded file is strict JSON").
enum class Keys { check_duplicates, trusted };
nlohmann::json parse_strict(std::string_view text, const std::string& origin, ErrorCode code,
                            Keys keys = Keys::check_duplicates);

// Builds a document from nlohmann's SAX events (json::sax_parse), refusing a key its object
// already holds. nlohmann's own callback parser is not used for this: at every object's end
// it walks the parent's members looking for discarded values, which made a header of
// 200,000 tensors take minutes; here each key costs one lookup in its object. Open
// containers are a vector, so nesting depth costs memory, never native stack. At most
// `max_values` values, and containers at most `max_depth` deep, are kept: the rest are read
// and dropped (truncated() says so), for
// a caller that builds one small piece of a large document at a time. A duplicate key
// throws LoadFailure "<origin>: <base_path>/<json path>: duplicate key".
class DomBuilder {
public:
  // `origin` must outlive the builder.
  DomBuilder(const std::string& origin, ErrorCode code, bool check_duplicates, std::string base_path = "",
             std::size_t max_values = static_cast<std::size_t>(-1), std::size_t max_depth = static_cast<std::size_t>(-1));

  // Refuse containers nested deeper than `levels` (LoadFailure naming the path), instead of
  // reading on.
  void refuse_deeper_than(std::size_t levels) { refuse_depth_ = levels; }

  // Ready for a new value whose path is "/<base_key as a JSON pointer token>", keeping the
  // allocations of the last one (a reader that builds one small value per member).
  void restart(std::string_view base_key, std::size_t max_values, std::size_t max_depth);

  // The value built; the builder is then ready for the next one.
  nlohmann::json take();
  // A whole value has been read: it began and every container it opened is closed.
  [[nodiscard]] bool complete() const { return started_ && stack_.empty() && skipped_ == 0; }
  [[nodiscard]] bool truncated() const { return truncated_; }
  [[nodiscard]] std::size_t depth() const { return stack_.size() + skipped_; }

  bool null() { return add(nlohmann::json(nullptr)); }
  bool boolean(bool v) { return add(nlohmann::json(v)); }
  bool number_integer(nlohmann::json::number_integer_t v) { return add(nlohmann::json(v)); }
  bool number_unsigned(nlohmann::json::number_unsigned_t v) { return add(nlohmann::json(v)); }
  bool number_float(nlohmann::json::number_float_t v, const nlohmann::json::string_t&) { return add(nlohmann::json(v)); }
  bool string(nlohmann::json::string_t& v) { return add(nlohmann::json(std::move(v))); }
  bool binary(nlohmann::json::binary_t& v) { return add(nlohmann::json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(nlohmann::json(nlohmann::json::value_t::object)); }
  bool start_array(std::size_t) { return open(nlohmann::json(nlohmann::json::value_t::array)); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(nlohmann::json::string_t& k);
  // Rethrows the parser's own exception, keeping its type (parse_error, out_of_range).
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

private:
  struct Open {
    nlohmann::json* value;
    std::string token; // its key or index in the parent ("" for the root)
  };
  nlohmann::json* place(nlohmann::json&& v, std::string* token);
  bool add(nlohmann::json&& v);
  bool open(nlohmann::json&& v);
  bool close();
  std::string path() const;

  const std::string* origin_;
  ErrorCode code_;
  bool check_;
  std::string base_;      // a path, or with base_is_key_ a key the path is made from
  bool base_is_key_ = false;
  std::size_t max_values_;
  std::size_t max_depth_;
  std::size_t refuse_depth_ = static_cast<std::size_t>(-1);
  nlohmann::json root_;
  std::vector<Open> stack_;
  std::string key_;
  std::size_t skipped_ = 0; // containers opened past max_values, not kept
  std::size_t values_ = 0;
  bool started_ = false;
  bool truncated_ = false;
};

// Inside a catch of nlohmann's parse_error or out_of_range from parsing `text`: throws the
// LoadFailure parse_strict would ("origin:line:col: invalid JSON: ...", a bounded excerpt).
[[noreturn]] void json_failure(std::string_view text, const std::string& origin, ErrorCode code);

// A JSON value as a message may quote it: compact JSON, at most about `max_bytes` of it
// (containers deeper than four levels or longer than the budget end in "..."), control
// characters escaped. Never walks more of the value than it prints, so a value nested
// 100,000 deep or a string of 100 MB costs what the excerpt costs.
std::string json_excerpt(const nlohmann::json& value, std::size_t max_bytes = 80);

// "a string", "an array", "an integer" ...
std::string json_type_name(const nlohmann::json& value);

// A key as a JSON pointer token (RFC 6901: ~ as ~0, / as ~1).
std::string json_pointer_token(std::string_view key);

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
