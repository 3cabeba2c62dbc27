#include "safe_text.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vramcalc {

namespace {
double as_double(std::uint64_t v) { return static_cast<double>(v); }

// "-5", "+1.5e3": a number a spreadsheet reads as one, not a formula.
bool is_number(std::string_view s) {
  std::size_t i = (s.starts_with('-') || s.starts_with('+')) ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) digits = true;
    else if (c == '.' && !dot) dot = true;
    else if ((c == 'e' || c == 'E') && digits) return is_number(s.substr(i + 1)) && !s.substr(i + 1).empty();
    else return false;
  }
  return digits;
}
} // namespace

std::string xml_escape(std::string_view s) {
  // terminal_safe leaves only XML 1.0 characters but two: the noncharacters U+FFFE, U+FFFF.
  const std::string safe = terminal_safe(s);
  std::string out;
  out.reserve(safe.size());
  for (std::size_t i = 0; i < safe.size(); ++i) {
    const char c = safe[i];
    if (c == '\xEF' && i + 2 < safe.size() && safe[i + 1] == '\xBF' && (safe[i + 2] == '\xBE' || safe[i + 2] == '\xBF')) {
      out += safe[i + 2] == '\xBE' ? "\\xef\\xbf\\xbe" : "\\xef\\xbf\\xbf";
      i += 2;
      continue;
    }
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string csv_field(std::string_view s) {
  std::string out = terminal_safe(s);
  // OWASP's CSV injection advice: a cell a spreadsheet would read as a formula starts with
  // a quote (numbers such as -5 stay numbers).
  if (!out.empty() && (out[0] == '=' || out[0] == '+' || out[0] == '-' || out[0] == '@') && !is_number(out)) {
    out.insert(out.begin(), '\'');
  }
  if (out.find_first_of(",\"") == std::string::npos) return out;
  std::string quoted = "\"";
  for (char c : out) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

namespace detail {

namespace {

void safe(std::string& s) {
  if (needs_escaping(s)) s = terminal_safe(s);
}
void safe(std::vector<std::string>& v) {
  for (std::string& s : v) safe(s);
}
void safe(ModelSummary& m) {
  for (std::string* s : {&m.id, &m.name, &m.family, &m.attention, &m.dtype}) safe(*s);
}
void safe(Report& r) {
  safe(r.model);
  for (std::string* s : {&r.settings.quant, &r.settings.quant_description, &r.settings.kv_dtype, &r.settings.kv_display}) safe(*s);
  for (WeightGroup& g : r.memory.weights_by_group) {
    safe(g.group);
    safe(g.dtypes);
  }
  safe(r.memory.kv_policy);
  for (FitRow& f : r.fit) {
    for (std::string* s : {&f.gpu, &f.gpu_name, &f.problem}) safe(*s);
    if (f.cost) {
      for (std::string* s : {&f.cost->row.provider, &f.cost->row.instance, &f.cost->row.date}) safe(*s);
    }
  }
  if (r.limits && r.limits->best_quant) safe(*r.limits->best_quant);
  if (r.engine) {
    EngineSection& e = *r.engine;
    for (std::string* s : {&e.version, &e.gpu, &e.gpu_name}) safe(*s);
    safe(e.notes);
    // Each engine's texts from files (engine_<id>.hpp).
    std::visit(
        [](auto& a) {
          for (std::string* s : detail::engine_file_texts(a)) safe(*s);
        },
        e.detail);
  }
  safe(r.suggestions);
  safe(r.notes);
}

} // namespace

Report terminal_view(const Report& r) {
  Report out = r;
  safe(out);
  return out;
}

std::vector<Report> terminal_view(std::span<const Report> reports) {
  std::vector<Report> out(reports.begin(), reports.end());
  for (Report& r : out) safe(r);
  return out;
}

InspectReport terminal_view(const InspectReport& r) {
  InspectReport out = r;
  safe(out.kind);
  safe(out.files);
  for (auto& [k, v] : out.facts) {
    safe(k);
    safe(v);
  }
  safe(out.model);
  safe(out.arch);
  safe(out.kv_dtype);
  for (InspectGroup& g : out.groups) {
    safe(g.group);
    safe(g.types);
  }
  safe(out.unmatched);
  safe(out.warnings);
  return out;
}

CheckReport terminal_view(const CheckReport& r) {
  // The text formats show each entry's verdict, not its full estimate: the reports are left
  // out of the copy (ten thousand of them cost more than the check itself).
  CheckReport out;
  out.files = r.files;
  safe(out.files);
  out.entries.reserve(r.entries.size());
  for (const CheckEntry& given : r.entries) {
    CheckEntry& e = out.entries.emplace_back();
    e.name = given.name;
    e.file = given.file;
    e.where = given.where;
    e.index = given.index;
    e.status = given.status;
    e.message = given.message;
    e.gpu = given.gpu;
    e.gpu_name = given.gpu_name;
    e.count = given.count;
    e.tp = given.tp;
    e.pp = given.pp;
    e.engine = given.engine;
    e.required_bytes_per_gpu = given.required_bytes_per_gpu;
    e.usable_bytes = given.usable_bytes;
    e.headroom_bytes = given.headroom_bytes;
    e.required_headroom_bytes = given.required_headroom_bytes;
    e.ignored = given.ignored;
    e.kind = given.kind;
    e.line = given.line;
    e.column = given.column;
    e.path = given.path;
    e.notes = given.notes;
    for (std::string* s : {&e.name, &e.file, &e.where, &e.message, &e.gpu, &e.gpu_name, &e.engine, &e.kind, &e.path}) {
      safe(*s);
    }
    safe(e.ignored);
    safe(e.notes);
  }
  out.skipped = r.skipped;
  for (CheckSkipped& s : out.skipped) {
    safe(s.name);
    safe(s.file);
    safe(s.reason);
  }
  return out;
}

Explanation terminal_view(const Explanation& e) {
  Explanation out = e;
  for (ExplainTensor& t : out.tensors) safe(t.name);
  for (ExplainAdapter& a : out.adapters) safe(a.name);
  safe(out.mmproj_file);
  safe(out.report);
  return out;
}

std::vector<PlanOption> terminal_view(std::span<const PlanOption> options) {
  std::vector<PlanOption> out(options.begin(), options.end());
  for (PlanOption& p : out) {
    for (std::string* s : {&p.gpu, &p.gpu_name, &p.quant}) safe(*s);
  }
  return out;
}

} // namespace detail

std::string format_bytes(std::uint64_t bytes, UnitSystem units) {
  // GiB (GB) from 1 GiB (1 GB) up, so tables compare at a glance; smaller values at
  // their own scale rather than as "0.00 GiB".
  const std::uint64_t giga = units == UnitSystem::si ? GB : GiB;
  if (bytes < giga) return format_bytes_auto(bytes, units);
  if (units == UnitSystem::si) return fmt::format("{:.2f} GB", as_double(bytes) / as_double(GB));
  return fmt::format("{:.2f} GiB", as_double(bytes) / as_double(GiB));
}

std::string format_bytes_auto(std::uint64_t bytes, UnitSystem units) {
  const bool si = units == UnitSystem::si;
  const double k = si ? 1000.0 : 1024.0;
  static constexpr const char* binary[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  static constexpr const char* decimal[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = as_double(bytes);
  std::size_t u = 0;
  while (v >= k && u < 6) {
    v /= k;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.2f} {}", v, si ? decimal[u] : binary[u]);
}

std::string format_params(std::uint64_t params) {
  const double p = as_double(params);
  if (params >= 1'000'000'000'000ull) return fmt::format("{:.2f}T", p / 1e12);
  if (params >= 1'000'000'000ull) return fmt::format("{:.2f}B", p / 1e9);
  if (params >= 1'000'000ull) return fmt::format("{:.1f}M", p / 1e6);
  return with_commas(params);
}

} // namespace vramcalc
