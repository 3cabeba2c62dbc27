// The flag table (flags.hpp).
#include "flags.hpp"

#include "vramcalc/engine.hpp"
#include "vramcalc/format.hpp"

#include <algorithm>

#include <variant>

namespace vramcalc::cli {

namespace {

// An Options member, or an engine's option (its spec, in engine_<id>.cpp; the text goes to
// Options::engine_flags under its canonical name). A Value is the text with the flag it came
// from (its canonical name), which its messages name.
using app::Value;
using Member = std::variant<std::optional<std::string> Options::*, std::string Options::*,
                            std::vector<std::string> Options::*, bool Options::*, std::optional<Value> Options::*,
                            Value Options::*, std::vector<Value> Options::*, const EngineOptionSpec*>;

constexpr unsigned E = static_cast<unsigned>(Command::estimate), P = static_cast<unsigned>(Command::plan),
                   C = static_cast<unsigned>(Command::compare), K = static_cast<unsigned>(Command::check),
                   X = static_cast<unsigned>(Command::explain), L = static_cast<unsigned>(Command::list),
                   I = static_cast<unsigned>(Command::inspect);
constexpr unsigned all = E | P | C | K | X | L | I;

struct Flag {
  std::string names;       // CLI11 names: "-q,--quant,--weights"
  std::string help;
  unsigned commands;       // Command bits it applies to
  Member member;
  std::vector<std::string> choices = {}; // a closed set of values
  const char* type_name = nullptr;
  bool one_value = false;                // a repeatable option takes one value each time
};

// The formats weight_format_table marks for --help, then where to find them all.
std::string quant_help() {
  std::string help = "weight format (comma list or 'all' to compare):";
  for (std::string_view name : help_weight_formats()) help += " " + std::string(name);
  return help + " ... ('vramcalc list formats'; default: the model's native format, or the checkpoint's)";
}

// "generic (the model's own needs), vllm, llamacpp or ...: what that engine allocates".
std::string engine_help() {
  const std::string ids = engine_ids(); // "generic, vllm, ..."
  return "generic (the model's own needs)" + ids.substr(ids.find(',')) + ": what that engine allocates";
}

// Every id and alias --engine takes, in engine_table's order.
std::vector<std::string> engine_names() {
  std::vector<std::string> out;
  for (const EngineTraits& e : engine_table) {
    out.emplace_back(e.id);
    if (!e.alias.empty()) out.emplace_back(e.alias);
  }
  return out;
}

// Each engine's flags, from its option specs, in engine_table's order. A flag two engines
// spell alike (vLLM's and SGLang's --enable-lora, as their own command lines spell them) is
// one flag whose value goes to the engine --engine names; its help joins theirs.
std::vector<Flag> engine_flags() {
  std::vector<Flag> out;
  for (const EngineTraits& engine : engine_table) {
    for (const EngineOptionSpec& spec : engine_option_specs(engine.kind)) {
      if (!spec.on_command_line) continue;
      const auto same = std::find_if(out.begin(), out.end(), [&](const Flag& f) { return f.names == spec.names; });
      if (same != out.end()) same->help += " | " + std::string(spec.help);
      // An engine's release (its `version` key) is also check's: it overrides the release of every
      // deployment of that engine, command lines included (src/app/check.cpp).
      else out.push_back({std::string(spec.names), std::string(spec.help), spec.key == "version" ? E | X | K : E | X, &spec});
    }
  }
  return out;
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = [] {
    std::vector<Flag> t{
      {"-q,--quant,--weights", quant_help(), E | P | C | X, &Options::quant},
      {"--kv,--kv-cache-dtype",
       "KV-cache dtype (comma list to compare): fp32 fp16 bf16 fp8 (e4m3) fp8_e5m2 int8 int4 q8_0 q4_0 ... (default: "
       "the model's dtype)",
       E | P | C | X, &Options::kv},
      {"--ctx,--max-model-len,--context-length",
       "context per sequence in tokens, or a comma list: 8192, 32k, 128k, 1m (default: the model's maximum; check: "
       "overrides every deployment's)",
       E | P | C | X | K, &Options::ctx},
      {"--batch", "concurrent sequences, or a comma list (default 1; check: overrides every deployment's)",
       E | P | C | X | K, &Options::batch},
      {"--gpu",
       "GPU to fit on, e.g. h100 (one) or 4xh100 (repeatable; default: every catalog GPU; check: overrides every "
       "deployment's)",
       E | C | X | K, &Options::gpus, {}, "GPU", true},
      {"--gpu-mem", "a GPU not in the catalog, by memory: 24GiB, 2x48GB", E | C | X | K, &Options::gpu_mem},
      {"--overhead", "runtime overhead per GPU (default 1GiB)", E | P | C | X, &Options::overhead},
      {"--host-mem", "the host's memory (system RAM), e.g. 256GiB: the engine's host need must fit (check: overrides "
                     "every deployment's)",
       E | X | K, &Options::host_mem},
      {"--engine", engine_help(), E | X, &Options::engine, engine_names()},
      {"--draft,--model-draft,--md",
       "speculative decoding: a draft model (catalog name, spec, config.json), loaded beside the model",
       E | X, &Options::draft},
      {"--draft-format", "the draft model's weight format (default: its own)", E | X, &Options::draft_format},
      {"--spec-tokens", "draft tokens per step (vLLM num_speculative_tokens, default 3; llama.cpp --draft-max, "
       "default 16)", E | X, &Options::spec_tokens},
      {"--tp,--tensor-parallel-size", "tensor-parallel GPUs (default: chosen from the GPU count)", E | C | X,
       &Options::tp},
      {"--pp,--pipeline-parallel-size", "pipeline stages (default: chosen from the GPU count)", E | C | X,
       &Options::pp},
      {"--ep,--enable-expert-parallel", "MoE: whole experts per GPU instead of sharded experts", E | C | X,
       &Options::ep},
      {"--lora",
       "LoRA adapters held at once: RANK or RANKxN (16, 64x4); vLLM: --enable-lora --max-loras N --max-lora-rank "
       "(rounded up to its ranks), SGLang: its pool of N slots; llama.cpp: N adapters of rank RANK, or adapter GGUF "
       "files (comma-separated, as llama-server's --lora)",
       E | X, &Options::lora},
      {"--images",
       "images in each request (default 0): their tokens are part of each request's context; without --image-size, "
       "the largest image the model's processor makes",
       E | X | K, &Options::images},
      {"--image-size", "the size of each image, WIDTHxHEIGHT in pixels (1920x1080): its tokens by the model's image "
                       "processor (default: the largest it makes)",
       E | X | K, &Options::image_size},
      // (each engine's own flags go here: engine_flags())
      {"--kv-policy",
       "KV eviction: streaming:sinks=4,window=4096 (StreamingLLM), h2o:budget=2048 or h2o:ratio=0.2 (H2O)",
       E | P | C | X, &Options::kv_policy},
      {"--max-ctx", "find the largest context that fits on the --gpu given", E, &Options::max_ctx},
      {"--max-batch", "find the most concurrent sequences that fit on the --gpu given", E, &Options::max_batch},
      {"--fit-quant", "find the best weight format (quality order of 'list formats') that fits", E,
       &Options::fit_quant},
      {"--models-dir", "also load the model spec files (*.json) below this directory", E | P | C | X | K | L,
       &Options::models_dirs, {}, "DIR", true},
      {"--prices", "instance prices to cost the GPUs with, instead of the built-in on-demand table (docs/prices.md)",
       E | P, &Options::prices, {}, "FILE"},
      {"--rank", "plan: order by $/hour (hour), $/million output tokens (mtok) or GPU count (gpus)", P,
       &Options::rank, {"hour", "mtok", "gpus"}},
      {"--si", "print GB (10^9 bytes) instead of GiB (2^30)", all, &Options::si},
      {"--json", "print the JSON document (docs/json-output.md)", all, &Options::json},
      {"--plot", "also draw memory against context length into FILE.svg (a line per format / KV dtype)", E,
       &Options::plot, {}, "FILE.svg"},
      {"--all-gpus", "list every catalog GPU in the fit table (default: the least memory that fits on 1, 2, 4 and 8 "
                     "of each kind of machine)",
       E, &Options::all_gpus},
      {"--bars", "a memory bar per requested GPU: auto (on a terminal), always, never", E, &Options::bars,
       {"auto", "always", "never"}},
      {"--color", "colour: auto (a terminal, unless NO_COLOR is set), always, never", all, &Options::color,
       {"auto", "always", "never"}},
      {"--vllm", "a vLLM command line to check: \"vllm serve MODEL --max-model-len ...\"", K, &Options::vllm_command},
      {"--llama-server", "a llama-server command line to check: \"llama-server -m model.gguf -c 32768 ...\"", K,
       &Options::llama_server_command},
      {"--sglang", "an SGLang command line to check: \"python -m sglang.launch_server --model-path MODEL --tp 4 ...\"", K,
       &Options::sglang_command},
      {"--trtllm", "a trtllm-serve command line to check: \"trtllm-serve MODEL --tp_size 2 --extra_llm_api_options extra.yaml\"",
       K, &Options::trtllm_command},
      {"--ollama", "an Ollama command line to check: \"OLLAMA_CONTEXT_LENGTH=8192 ollama run gpt-oss:20b\"", K,
       &Options::ollama_command},
      {"--headroom", "memory to keep free per GPU: 5% or 2GiB (overrides every deployment's)", K, &Options::headroom},
      {"--format", "output format: table, json, ndjson, csv, markdown; check also: junit, github", all,
       &Options::format, {"table", "json", "ndjson", "csv", "markdown", "junit", "github"}},
    };
    // The engines' flags after the engine's choice and its layout (--engine, --tp, --pp, --ep).
    const auto after = std::find_if(t.begin(), t.end(), [](const Flag& f) { return f.names == "--kv-policy"; });
    const std::vector<Flag> engines = engine_flags();
    t.insert(after, engines.begin(), engines.end());
    return t;
  }();
  return table;
}

// The first long name: "--quant" of "-q,--quant,--weights".
std::string canonical(std::string_view names) {
  std::string_view n = names;
  while (!n.empty()) {
    const auto comma = n.find(',');
    const std::string_view one = n.substr(0, comma);
    if (one.starts_with("--")) return std::string(one);
    if (comma == std::string_view::npos) break;
    n.remove_prefix(comma + 1);
  }
  return std::string(names);
}

} // namespace

std::string_view command_name(Command c) {
  switch (c) {
  case Command::estimate: return "vramcalc MODEL";
  case Command::plan: return "plan";
  case Command::compare: return "compare";
  case Command::check: return "check";
  case Command::explain: return "explain";
  case Command::list: return "list";
  case Command::inspect: return "inspect";
  case Command::serve: return "serve";
  }
  return "";
}

std::map<const CLI::Option*, std::string> register_flags(CLI::App& app, Options& o, bool top_level, Command command) {
  std::map<const CLI::Option*, std::string> out;
  for (const Flag& f : flags()) {
    if (!top_level && (f.commands & static_cast<unsigned>(command)) == 0) continue;
    const std::string name = canonical(f.names);
    CLI::Option* opt = std::visit(
        [&](auto member) -> CLI::Option* {
          using M = decltype(member);
          if constexpr (std::is_same_v<M, const EngineOptionSpec*>) {
            std::string flag(member->flag());
            if (member->is_switch) {
              return app.add_flag_callback(f.names, [&o, flag] { o.engine_flags[flag] = Value::flag(flag, "true"); }, f.help);
            }
            return app.add_option_function<std::string>(
                f.names, [&o, flag](const std::string& value) { o.engine_flags[flag] = Value::flag(flag, value); }, f.help);
          } else if constexpr (std::is_same_v<M, std::optional<Value> Options::*> || std::is_same_v<M, Value Options::*>) {
            return app.add_option_function<std::string>(
                f.names, [&o, member, name](const std::string& value) { o.*member = Value::flag(name, value); }, f.help);
          } else if constexpr (std::is_same_v<M, std::vector<Value> Options::*>) {
            return app.add_option_function<std::vector<std::string>>(
                f.names,
                [&o, member, name](const std::vector<std::string>& values) {
                  for (const std::string& v : values) (o.*member).push_back(Value::flag(name, v));
                },
                f.help);
          } else {
            auto& target = o.*member;
            if constexpr (std::is_same_v<std::decay_t<decltype(target)>, bool>) {
              return app.add_flag(f.names, target, f.help);
            } else {
              return app.add_option(f.names, target, f.help);
            }
          }
        },
        f.member);
    if (!f.choices.empty()) opt->check(CLI::IsMember(f.choices));
    if (f.type_name != nullptr) opt->type_name(f.type_name);
    if (f.one_value) opt->allow_extra_args(false);
    out.emplace(opt, name);
  }
  return out;
}

bool flag_applies(std::string_view name, Command command) {
  for (const Flag& f : flags()) {
    if (canonical(f.names) == name) return (f.commands & static_cast<unsigned>(command)) != 0;
  }
  return true;
}

std::optional<FlagKind> flag_kind(std::string_view long_name) {
  for (const Flag& f : flags()) {
    std::string_view n = f.names;
    bool named = false;
    while (!n.empty() && !named) {
      const auto comma = n.find(',');
      named = n.substr(0, comma) == long_name;
      if (comma == std::string_view::npos) break;
      n.remove_prefix(comma + 1);
    }
    if (!named) continue;
    FlagKind k{canonical(f.names)};
    k.is_switch = std::holds_alternative<bool Options::*>(f.member) ||
                  (std::holds_alternative<const EngineOptionSpec*>(f.member) &&
                   std::get<const EngineOptionSpec*>(f.member)->is_switch);
    const std::string_view type = f.type_name != nullptr ? f.type_name : "";
    k.names_file = type == "FILE" || type == "DIR" || type == "FILE.svg";
    return k;
  }
  return std::nullopt;
}

std::vector<std::string> flag_names() {
  std::vector<std::string> out;
  for (const Flag& f : flags()) {
    std::string_view n = f.names;
    while (!n.empty()) {
      const auto comma = n.find(',');
      out.emplace_back(n.substr(0, comma));
      if (comma == std::string_view::npos) break;
      n.remove_prefix(comma + 1);
    }
  }
  return out;
}

} // namespace vramcalc::cli
