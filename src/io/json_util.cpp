#include "json_util.hpp"

#include "vramcalc/units.hpp"

#include <cmath>
#include "vramcalc/text.hpp"
#include <utility>

namespace vramcalc::io::detail {

using nlohmann::json;

namespace {

std::string type_name(const json& j) {
  switch (j.type()) {
  case json::value_t::null: return "null";
  case json::value_t::boolean: return "a boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned: return "an integer";
  case json::value_t::number_float: return "a number";
  case json::value_t::string: return "a string";
  case json::value_t::array: return "an array";
  case json::value_t::object: return "an object";
  default: return "a value";
  }
}

std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t byte) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

} // namespace

std::string json_type_name(const json& j) { return type_name(j); }

std::string json_pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

DomBuilder::DomBuilder(const std::string& origin, ErrorCode code, bool check_duplicates, std::string base_path,
                       std::size_t max_values, std::size_t max_depth)
    : origin_(&origin), code_(code), check_(check_duplicates), base_(std::move(base_path)),
      max_values_(max_values), max_depth_(max_depth) {}

void DomBuilder::restart(std::string_view base_key, std::size_t max_values, std::size_t max_depth) {
  root_ = json();
  stack_.clear();
  key_.clear();
  base_.assign(base_key);
  base_is_key_ = true;
  max_values_ = max_values;
  max_depth_ = max_depth;
  skipped_ = 0;
  values_ = 0;
  started_ = false;
  truncated_ = false;
}

json DomBuilder::take() {
  started_ = false;
  values_ = 0;
  truncated_ = false;
  return std::move(root_);
}

bool DomBuilder::key(json::string_t& k) {
  if (skipped_ > 0) return true;
  json& top = *stack_.back().value;
  if (check_ && top.contains(k)) {
    throw LoadFailure{{code_, *origin_ + ": " + excerpt(path() + "/" + json_pointer_token(k), 200) + ": duplicate key"}};
  }
  key_ = std::move(k);
  return true;
}

json* DomBuilder::place(json&& v, std::string* token) {
  started_ = true;
  if (skipped_ > 0 || values_ >= max_values_ || (v.is_structured() && stack_.size() >= max_depth_)) {
    truncated_ = true;
    return nullptr;
  }
  ++values_;
  if (stack_.empty()) {
    root_ = std::move(v);
    return &root_;
  }
  json& top = *stack_.back().value;
  if (top.is_array()) {
    if (token != nullptr) *token = std::to_string(top.size());
    auto& arr = top.get_ref<json::array_t&>();
    arr.push_back(std::move(v));
    return &arr.back();
  }
  if (token != nullptr) *token = json_pointer_token(key_);
  auto& obj = top.get_ref<json::object_t&>();
  return &obj.insert_or_assign(std::move(key_), std::move(v)).first->second;
}

bool DomBuilder::add(json&& v) {
  place(std::move(v), nullptr);
  return true;
}

bool DomBuilder::open(json&& v) {
  if (stack_.size() + skipped_ >= refuse_depth_) {
    // The path's first levels say where; the rest is the same bracket again and again.
    std::string where = base_is_key_ ? "/" + json_pointer_token(base_) : base_;
    for (std::size_t i = 1; i < stack_.size() && i <= 4; ++i) where += "/" + stack_[i].token;
    if (stack_.size() > 5) where += "/\u2026";
    throw LoadFailure{{code_, *origin_ + ": " + excerpt(where.empty() ? "/" : where, 200) + ": JSON nested deeper than " +
                                  std::to_string(refuse_depth_) + " levels"}};
  }
  std::string token;
  json* at = place(std::move(v), &token);
  if (at == nullptr) ++skipped_;
  else stack_.push_back({at, std::move(token)});
  return true;
}

bool DomBuilder::close() {
  if (skipped_ > 0) --skipped_;
  else stack_.pop_back();
  return true;
}

std::string DomBuilder::path() const {
  std::string p = base_is_key_ ? "/" + json_pointer_token(base_) : base_;
  for (std::size_t i = 1; i < stack_.size(); ++i) p += "/" + stack_[i].token;
  return p;
}

std::string json_excerpt(const json& value, std::size_t max_bytes) {
  std::string out;
  // Depth-first with a bounded depth: recursion is at most four calls deep.
  const auto write = [&](const auto& self, const json& v, int depth) -> void {
    if (out.size() >= max_bytes) return;
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      const std::size_t room = max_bytes - out.size();
      out += "\"" + excerpt(s, room < 8 ? 8 : room) + "\"";
      return;
    }
    if (!v.is_structured()) {
      out += v.dump();
      return;
    }
    const bool array = v.is_array();
    out += array ? '[' : '{';
    if (depth >= 4) {
      out += v.empty() ? "" : "\u2026";
      out += array ? ']' : '}';
      return;
    }
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() >= max_bytes) {
        out += "\u2026";
        break;
      }
      if (!first) out += ',';
      first = false;
      if (!array) out += "\"" + excerpt(it.key(), 32) + "\":";
      self(self, *it, depth + 1);
    }
    out += array ? ']' : '}';
  };
  write(write, value, 0);
  return out;
}

void json_failure(std::string_view text, const std::string& origin, ErrorCode code) {
  try {
    throw;
  } catch (const json::parse_error& e) {
    auto [line, col] = line_col(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 2: <detail>";
    // the detail quotes the last token read, which may be a whole long string.
    const auto colon = what.find(": ");
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    throw LoadFailure{{code, origin + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                 ": invalid JSON: " + excerpt(detail, 160)}};
  } catch (const json::out_of_range& e) {
    // A number beyond double's range (1E400): nlohmann says where only in its text.
    std::string what = e.what();
    const auto quote = what.find('\'');
    throw LoadFailure{{code, origin + ": invalid JSON: a number out of range" +
                                 (quote == std::string::npos ? std::string() : ": " + excerpt(what.substr(quote), 160))}};
  }
}

json parse_strict(std::string_view text, const std::string& origin, ErrorCode code, Keys keys) {
  try {
    DomBuilder builder(origin, code, keys == Keys::check_duplicates);
    builder.refuse_deeper_than(max_json_depth);
    json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/false);
    return builder.take();
  } catch (const json::parse_error&) {
    json_failure(text, origin, code);
  } catch (const json::out_of_range&) {
    json_failure(text, origin, code);
  }
}

ObjectReader::ObjectReader(const json& j, std::string origin, std::string path, ErrorCode code)
    : json_(&j), origin_(std::move(origin)), path_(std::move(path)), code_(code) {
  if (!j.is_object()) fail_here("expected an object, got " + type_name(j));
}

void ObjectReader::fail(std::string_view key, const std::string& what) const {
  throw LoadFailure{{code_, origin_ + ": " + path_of(key) + ": " + what}};
}

void ObjectReader::fail_here(const std::string& what) const {
  throw LoadFailure{{code_, origin_ + ": " + (path_.empty() ? std::string("/") : path_) + ": " + what}};
}

std::string ObjectReader::path_of(std::string_view key) const { return path_ + "/" + json_pointer_token(key); }

bool ObjectReader::has(std::string_view key) const { return json_->contains(key); }

const json* ObjectReader::get(std::string_view key) {
  auto it = json_->find(key);
  if (it == json_->end()) return nullptr;
  used_.insert(std::string(key));
  return &*it;
}

std::optional<std::uint64_t> ObjectReader::opt_u64(std::string_view key, std::uint64_t min, std::uint64_t max) {
  const json* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_number_integer() && v->get<std::int64_t>() < 0) {
    fail(key, "must be at least " + with_commas(min) + ", got " + json_excerpt(*v));
  }
  if (!v->is_number_unsigned() && !v->is_number_integer()) {
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) == d && d >= 0 && d < 9.0e15) {
        // 4096.0: a whole number written with a point; accept it.
        const auto u = static_cast<std::uint64_t>(d);
        if (u < min || u > max) {
          fail(key, "must be between " + with_commas(min) + " and " + with_commas(max) + ", got " + json_excerpt(*v));
        }
        return u;
      }
    }
    fail(key, "expected an integer, got " + type_name(*v) + (v->is_primitive() ? " " + json_excerpt(*v) : ""));
  }
  const auto u = v->get<std::uint64_t>();
  if (u < min || u > max) {
    fail(key, "must be between " + with_commas(min) + " and " + with_commas(max) + ", got " + json_excerpt(*v));
  }
  return u;
}

std::uint64_t ObjectReader::u64(std::string_view key, std::uint64_t min, std::uint64_t max) {
  if (!has(key)) fail_here("missing required key '" + std::string(key) + "'");
  auto v = opt_u64(key, min, max);
  if (!v) fail(key, "expected an integer, got null");
  return *v;
}

std::optional<std::string> ObjectReader::opt_str(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) fail(key, "expected a string, got " + type_name(*v));
  return v->get<std::string>();
}

std::string ObjectReader::str(std::string_view key) {
  if (!has(key)) fail_here("missing required key '" + std::string(key) + "'");
  auto v = opt_str(key);
  if (!v) fail(key, "expected a string, got null");
  if (v->empty()) fail(key, "must not be empty");
  return *v;
}

bool ObjectReader::opt_bool(std::string_view key, bool fallback) {
  const json* v = get(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, "expected true or false, got " + type_name(*v));
  return v->get<bool>();
}

bool ObjectReader::boolean(std::string_view key) {
  if (!has(key)) fail_here("missing required key '" + std::string(key) + "'");
  return opt_bool(key, false);
}

std::optional<bool> ObjectReader::opt_bool_or_null(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_boolean()) fail(key, "expected true, false or null, got " + type_name(*v));
  return v->get<bool>();
}

std::optional<double> ObjectReader::opt_number(std::string_view key, double min, double max) {
  const json* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) fail(key, "expected a number, got " + type_name(*v));
  const double d = v->get<double>();
  if (!(d >= min && d <= max)) fail(key, "must be between " + json(min).dump() + " and " + json(max).dump());
  return d;
}

double ObjectReader::number(std::string_view key, double min, double max) {
  if (!has(key)) fail_here("missing required key '" + std::string(key) + "'");
  auto v = opt_number(key, min, max);
  if (!v) fail(key, "expected a number, got null");
  return *v;
}

std::vector<std::string> ObjectReader::str_array(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) return {};
  if (!v->is_array()) fail(key, "expected an array of strings, got " + type_name(*v));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    if (!e.is_string()) {
      throw LoadFailure{{code_, origin_ + ": " + path_of(key) + "/" + std::to_string(i) +
                                    ": expected a string, got " + type_name(e)}};
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

const json& ObjectReader::array(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) fail_here("missing required key '" + std::string(key) + "'");
  if (!v->is_array()) fail(key, "expected an array, got " + type_name(*v));
  return *v;
}

std::optional<ObjectReader> ObjectReader::opt_object(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) fail(key, "expected an object, got " + type_name(*v));
  return ObjectReader(*v, origin_, path_of(key), code_);
}

ObjectReader ObjectReader::object(std::string_view key) {
  if (!has(key)) fail_here("missing required key '" + std::string(key) + "'");
  auto o = opt_object(key);
  if (!o) fail(key, "expected an object, got null");
  return std::move(*o);
}

ObjectReader ObjectReader::element(const json& array, std::string_view key, std::size_t index) const {
  return ObjectReader(array[index], origin_, path_of(key) + "/" + std::to_string(index), code_);
}

void ObjectReader::finish() const {
  for (const auto& [k, v] : json_->items()) {
    if (!used_.contains(k)) fail(k, "unknown key");
  }
}

} // namespace vramcalc::io::detail
