// `vramcalc check` output: verdict lines, CSV, Markdown, JUnit XML, GitHub annotations
// (JSON and NDJSON are in json.cpp). docs/ci.md shows each.
#include "vramcalc/render.hpp"
#include "safe_text.hpp"
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string_view>

namespace vramcalc {

namespace {

// GitHub workflow commands: % and newlines are escaped in messages and properties.
std::string gh_escape(std::string_view s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else if (property && c == ':') out += "%3A";
    else if (property && c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

std::string status_word(const CheckEntry& e) { return e.status == CheckStatus::fits ? "fits" : "does_not_fit"; }

std::string deployment_of(const CheckEntry& e) {
  return fmt::format("{}\u00d7 {}{}", e.count, e.gpu_name,
                     e.tp * e.pp > 1 ? fmt::format(" (tp {}, pp {})", e.tp, e.pp) : std::string());
}

std::string summary(const CheckReport& r) {
  std::size_t workloads = 0;
  for (const CheckSkipped& s : r.skipped) workloads += s.workload ? 1u : 0u;
  std::size_t fit = 0;
  for (const CheckEntry& e : r.entries) fit += e.status == CheckStatus::fits ? 1 : 0;
  const std::size_t n = r.entries.size();
  return fmt::format("{} deployment{}: {} fit{}, {} do{} not{}", n, n == 1 ? "" : "s", fit, fit == 1 ? "s" : "", n - fit,
                     n - fit == 1 ? "es" : "",
                     workloads == 0 ? std::string() : fmt::format("; {} skipped", workloads));
}

// Objects that run nothing (Services, ConfigMaps): one line naming their kinds.
std::string other_objects(const CheckReport& r) {
  std::vector<std::string> kinds;
  std::size_t n = 0;
  for (const CheckSkipped& s : r.skipped) {
    if (s.workload) continue;
    ++n;
    if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) kinds.push_back(s.kind);
  }
  if (n == 0) return "";
  std::sort(kinds.begin(), kinds.end());
  std::string list;
  for (const std::string& k : kinds) list += (list.empty() ? "" : ", ") + k;
  return fmt::format("{} other object{} run{} no workload ({})", n, n == 1 ? "" : "s", n == 1 ? "s" : "", list);
}

// "prod.yaml:12" of a skipped workload.
std::string skipped_where(const CheckSkipped& s) {
  return s.line == 0 ? s.file : fmt::format("{}:{}", s.file, s.line);
}

// What a manifest's workload was read from: "prod.yaml:23:11 spec.template.spec.containers[0]:
// 4 GPUs from resources.limits.nvidia.com/gpu; ...".
std::string source_line(const CheckEntry& e) {
  std::string out = e.where.empty() ? e.file : e.where;
  if (!e.path.empty()) out += " " + e.path;
  for (std::size_t i = 0; i < e.notes.size(); ++i) out += (i == 0 ? ": " : "; ") + e.notes[i];
  return out;
}

std::string table(const CheckReport& r, const RenderOptions& o) {
  const detail::Style st{o.color};
  std::string out;
  for (const CheckEntry& e : r.entries) {
    const bool ok = e.status == CheckStatus::fits;
    out += fmt::format("{} {}  {}\n", ok ? st.green("PASS") : st.red("FAIL"), e.name, e.message);
    if (!e.ignored.empty()) {
      std::string list;
      for (std::size_t i = 0; i < e.ignored.size(); ++i) list += (i == 0 ? "" : ", ") + e.ignored[i];
      out += "     ignored (not modelled): " + list + "\n";
    }
    if (!e.kind.empty()) out += "     read from " + source_line(e) + "\n";
  }
  for (const CheckSkipped& s : r.skipped) {
    if (s.workload) out += fmt::format("{} {}  {}: {}\n", st.yellow("SKIP"), s.name, skipped_where(s), s.reason);
  }
  if (const std::string others = other_objects(r); !others.empty()) out += "     " + others + ".\n";
  out += summary(r) + ".\n";
  return out;
}

std::string csv(const CheckReport& r) {
  std::string out = "name,file,status,engine,gpu,count,tp,pp,required_bytes_per_gpu,usable_bytes,headroom_bytes,"
                    "required_headroom_bytes,message\n";
  for (const CheckEntry& e : r.entries) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(e.name), csv_field(e.file), status_word(e),
                       e.engine, csv_field(e.gpu), e.count, e.tp, e.pp, e.required_bytes_per_gpu, e.usable_bytes,
                       e.headroom_bytes, e.required_headroom_bytes, csv_field(e.message));
  }
  return out;
}

std::string markdown(const CheckReport& r, const RenderOptions& o) {
  const auto cell = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = "| deployment | verdict | GPUs | engine | per GPU | headroom | required |\n|---|---|---|---|---:|---:|---:|\n";
  for (const CheckEntry& e : r.entries) {
    const std::string headroom = e.headroom_bytes >= 0
                                     ? "+" + format_bytes(static_cast<std::uint64_t>(e.headroom_bytes), o.units)
                                     : "\u2212" + format_bytes(static_cast<std::uint64_t>(-(e.headroom_bytes + 1)) + 1, o.units);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", cell(e.name),
                       e.status == CheckStatus::fits ? "\u2705 fits" : "\u274c does not fit", cell(deployment_of(e)),
                       e.engine, format_bytes(e.required_bytes_per_gpu, o.units), headroom,
                       format_bytes(e.required_headroom_bytes, o.units));
  }
  if (!r.skipped.empty()) {
    out += "\nSkipped:\n\n";
    for (const CheckSkipped& s : r.skipped) {
      if (s.workload) out += fmt::format("- {} ({}): {}\n", cell(s.name), cell(skipped_where(s)), cell(s.reason));
    }
    if (const std::string others = other_objects(r); !others.empty()) out += "- " + cell(others) + "\n";
  }
  out += "\n" + summary(r) + ".\n";
  return out;
}

std::string junit(const CheckReport& r) {
  std::size_t failures = 0;
  for (const CheckEntry& e : r.entries) failures += e.status == CheckStatus::fits ? 0 : 1;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  // Skipped workloads are skipped test cases; objects that run nothing are not test cases.
  std::vector<CheckSkipped> skipped;
  for (const CheckSkipped& s : skipped) {
    if (s.workload) skipped.push_back(s);
  }
  const std::string skipped_total = skipped.empty() ? "" : fmt::format(" skipped=\"{}\"", skipped.size());
  out += fmt::format("<testsuites name=\"vramcalc check\" tests=\"{}\" failures=\"{}\"{}>\n",
                     r.entries.size() + skipped.size(), failures, skipped_total);
  // One suite per file, in the order the files were given.
  std::vector<std::string> files;
  for (const CheckEntry& e : r.entries) {
    if (std::find(files.begin(), files.end(), e.file) == files.end()) files.push_back(e.file);
  }
  for (const CheckSkipped& s : skipped) {
    if (std::find(files.begin(), files.end(), s.file) == files.end()) files.push_back(s.file);
  }
  for (const std::string& f : files) {
    std::size_t n = 0, fails = 0, skips = 0;
    for (const CheckEntry& e : r.entries) {
      if (e.file != f) continue;
      ++n;
      fails += e.status == CheckStatus::fits ? 0 : 1;
    }
    for (const CheckSkipped& s : skipped) skips += s.file == f ? 1u : 0u;
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\"{}>\n", xml_escape(f), n + skips, fails,
                       skips == 0 ? std::string() : fmt::format(" skipped=\"{}\"", skips));
    for (const CheckEntry& e : r.entries) {
      if (e.file != f) continue;
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\"", xml_escape(f), xml_escape(e.name));
      if (e.status == CheckStatus::fits) {
        out += "/>\n";
      } else {
        out += fmt::format(">\n      <failure message=\"{}\" type=\"does_not_fit\">{}</failure>\n    </testcase>\n",
                           xml_escape(e.message), xml_escape(e.where.empty() ? e.message : e.where + ": " + e.message));
      }
    }
    for (const CheckSkipped& s : skipped) {
      if (s.file != f) continue;
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                         xml_escape(f), xml_escape(s.name), xml_escape(s.reason));
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string github(const CheckReport& r) {
  std::string out;
  for (const CheckEntry& e : r.entries) {
    std::string props;
    if (!e.where.empty()) {
      // "deploy.yaml:4:5" -> file, line, col
      const auto c2 = e.where.rfind(':');
      const auto c1 = e.where.rfind(':', c2 - 1);
      props = fmt::format("file={},line={},col={},", gh_escape(e.where.substr(0, c1), true),
                          e.where.substr(c1 + 1, c2 - c1 - 1), e.where.substr(c2 + 1));
    }
    props += "title=" + gh_escape("vramcalc: " + e.name, true);
    out += fmt::format("::{} {}::{}\n", e.status == CheckStatus::fits ? "notice" : "error", props,
                       gh_escape(e.name + ": " + e.message, false));
    if (!e.ignored.empty()) {
      std::string list;
      for (std::size_t i = 0; i < e.ignored.size(); ++i) list += (i == 0 ? "" : ", ") + e.ignored[i];
      out += fmt::format("::warning title={}::{}\n", gh_escape("vramcalc: " + e.name, true),
                         gh_escape("flags not modelled: " + list, false));
    }
  }
  for (const CheckSkipped& s : r.skipped) {
    if (!s.workload) continue;
    std::string props = "file=" + gh_escape(s.file, true);
    if (s.line != 0) props += fmt::format(",line={}", s.line);
    out += fmt::format("::notice {},title={}::{}\n", props, gh_escape("vramcalc: " + s.name, true),
                       gh_escape(s.name + ": skipped: " + s.reason, false));
  }
  return out + summary(r) + ".\n";
}

} // namespace

std::string render_errors_for_ci(std::span<const Error> errors, std::string_view format) {
  std::string out;
  if (format == "github") {
    // One annotation per error, on its file and line when it has them.
    for (const Error& e : errors) {
      std::string props;
      if (!e.file.empty()) props += "file=" + gh_escape(e.file, true);
      if (e.line != 0) props += fmt::format(",line={}", e.line);
      if (e.column != 0) props += fmt::format(",col={}", e.column);
      props += std::string(props.empty() ? "" : ",") + "title=" + gh_escape("vramcalc: invalid input", true);
      out += fmt::format("::error {}::{}\n", props, gh_escape(e.message, false));
    }
    return out + fmt::format("{} error{}: nothing was checked.\n", errors.size(), errors.size() == 1 ? "" : "s");
  }
  // JUnit: one failing test case per error, so CI shows why the check did not run.
  out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"vramcalc check\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">\n", errors.size());
  out += fmt::format("  <testsuite name=\"invalid input\" tests=\"{0}\" failures=\"0\" errors=\"{0}\">\n", errors.size());
  for (const Error& e : errors) {
    const std::string name = e.file.empty() ? std::string("command line")
                             : e.line == 0  ? e.file
                                            : fmt::format("{}:{}:{}", e.file, e.line, e.column);
    out += fmt::format("    <testcase classname=\"vramcalc.check\" name=\"{}\">\n      <error message=\"{}\" "
                       "type=\"{}\">{}</error>\n    </testcase>\n",
                       xml_escape(name), xml_escape(e.message), error_code_name(e.code), xml_escape(e.message));
  }
  return out + "  </testsuite>\n</testsuites>\n";
}

std::string render_check(const CheckReport& report, std::string_view format, const RenderOptions& o) {
  if (format == "json") return render_check_json(report);
  if (format == "ndjson") return render_check_ndjson(report);
  // Every other format is text: names and messages from deployment files, escaped.
  const CheckReport r = detail::terminal_view(report);
  if (format == "csv") return csv(r);
  if (format == "markdown") return markdown(r, o);
  if (format == "junit") return junit(r);
  if (format == "github") return github(r);
  return table(r, o);
}

} // namespace vramcalc

namespace vramcalc {

std::string render_reports(std::span<const Report> given, std::string_view format, const RenderOptions& o) {
  std::string out;
  if (format == "ndjson") {
    for (const Report& r : given) out += render_json(r);
    return out;
  }
  const std::vector<Report> safe = detail::terminal_view(given);
  const std::span<const Report> reports = safe;
  const bool md = format == "markdown";
  if (md) {
    out = "| model | weights | KV | context | batch | weight memory | KV cache | total | GPU | GPUs | per GPU | headroom | fits |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n";
  } else {
    out = "model,quant,kv_dtype,context_tokens,batch,weights_bytes,kv_cache_bytes,state_bytes,overhead_bytes,total_bytes,"
          "gpu,count,tp,pp,fits,usable_bytes,required_bytes_per_gpu,headroom_bytes\n";
  }
  for (const Report& r : reports) {
    const MemorySummary& m = r.memory;
    const SettingsSummary& s = r.settings;
    for (const FitRow& f : r.fit) {
      if (md) {
        const std::string headroom = f.headroom_bytes >= 0
                                         ? "+" + format_bytes(static_cast<std::uint64_t>(f.headroom_bytes), o.units)
                                         : "\u2212" + format_bytes(static_cast<std::uint64_t>(-(f.headroom_bytes + 1)) + 1, o.units);
        out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.model.id, s.quant,
                           s.kv_display, with_commas(s.context_tokens), s.batch, format_bytes(m.weights_bytes, o.units),
                           format_bytes(m.kv_cache_bytes, o.units), format_bytes(m.total_bytes, o.units), f.gpu_name,
                           f.count, format_bytes(f.required_bytes_per_gpu, o.units), headroom, f.fits ? "yes" : "no");
      } else {
        out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.model.id), csv_field(s.quant),
                           s.kv_dtype, s.context_tokens, s.batch, m.weights_bytes, m.kv_cache_bytes, m.state_bytes,
                           m.overhead_bytes, m.total_bytes, csv_field(f.gpu), f.count, f.tp, f.pp, f.fits ? "true" : "false",
                           f.usable_bytes, f.required_bytes_per_gpu, f.headroom_bytes);
      }
    }
  }
  return out;
}

} // namespace vramcalc
