#include "json_util.hpp"

#include "vramcalc/units.hpp"

#include <cmath>
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

std::string escape_pointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
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

// Tracks where the parser is, to name duplicate keys by their JSON path.
struct Frame {
  bool is_array = false;
  std::size_t index = 0;
  std::string key;
  std::set<std::string, std::less<>> keys;
};

struct DuplicateKey {
  std::string path;
};

} // namespace

json parse_strict(std::string_view text, const std::string& origin, ErrorCode code, Keys keys) {
  std::vector<Frame> frames;
  auto path = [&frames]() {
    std::string p;
    for (const Frame& f : frames) {
      if (f.is_array) p += "/" + std::to_string(f.index);
      else if (!f.key.empty()) p += "/" + escape_pointer(f.key);
    }
    return p;
  };
  auto element_done = [&frames]() {
    if (!frames.empty() && frames.back().is_array) ++frames.back().index;
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
    case json::parse_event_t::object_start: frames.push_back(Frame{}); break;
    case json::parse_event_t::array_start: frames.push_back(Frame{true, 0, {}, {}}); break;
    case json::parse_event_t::key: {
      const std::string& k = parsed.get_ref<const std::string&>();
      Frame& f = frames.back();
      if (!f.keys.insert(k).second) {
        f.key = k;
        throw DuplicateKey{path()};
      }
      f.key = k;
      break;
    }
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      frames.pop_back();
      element_done();
      break;
    case json::parse_event_t::value: element_done(); break;
    }
    return true;
  };
  try {
    if (keys == Keys::trusted) return json::parse(text.begin(), text.end(), nullptr, true, false);
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const DuplicateKey& d) {
    throw LoadFailure{{code, origin + ": " + d.path + ": duplicate key"}};
  } catch (const json::parse_error& e) {
    auto [line, col] = line_col(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 2: <detail>"
    const auto colon = what.find(": ");
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    throw LoadFailure{{code, origin + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                 ": invalid JSON: " + detail}};
  } catch (const json::out_of_range& e) {
    // A number beyond double's range (1E400): nlohmann says where only in its text.
    std::string what = e.what();
    const auto quote = what.find('\'');
    throw LoadFailure{{code, origin + ": invalid JSON: a number out of range" +
                                 (quote == std::string::npos ? std::string() : ": " + what.substr(quote))}};
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

std::string ObjectReader::path_of(std::string_view key) const { return path_ + "/" + escape_pointer(key); }

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
    fail(key, "must be at least " + with_commas(min) + ", got " + v->dump());
  }
  if (!v->is_number_unsigned() && !v->is_number_integer()) {
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) == d && d >= 0 && d < 9.0e15) {
        // 4096.0: a whole number written with a point; accept it.
        const auto u = static_cast<std::uint64_t>(d);
        if (u < min || u > max) {
          fail(key, "must be between " + with_commas(min) + " and " + with_commas(max) + ", got " + v->dump());
        }
        return u;
      }
    }
    fail(key, "expected an integer, got " + type_name(*v) + (v->is_primitive() ? " " + v->dump() : ""));
  }
  const auto u = v->get<std::uint64_t>();
  if (u < min || u > max) {
    fail(key, "must be between " + with_commas(min) + " and " + with_commas(max) + ", got " + v->dump());
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
