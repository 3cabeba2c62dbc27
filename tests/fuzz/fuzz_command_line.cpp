// The engine command lines `vramcalc check` accepts: io::split_command_line, then
// io::deployment_from_vllm, _llama_server, _sglang, _ollama and _trtllm (its extra options
// file not read: a fuzzed path is not opened) on the same text. Splitting
// is checked by a round trip (the words, each single-quoted, split back to themselves); a
// deployment has a model, the engine it came from and only known keys; an error names the
// flag (--vllm, --llama-server, --sglang, --trtllm, --ollama).
#include "fuzz_util.hpp"

#include "deployments.hpp"

#include <algorithm>
#include <string>

namespace {

using vramcalc::fuzz::check;

bool known(const std::vector<std::string_view>& list, const std::string& key) {
  return std::ranges::find(list, key) != list.end();
}

// 'word' with each ' written as '\'' (POSIX shell quoting).
std::string quoted(const std::string& w) {
  std::string out = "'";
  for (char c : w) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

void deployment(const std::expected<vramcalc::io::Deployment, vramcalc::Error>& d, const std::string& origin,
                const char* engine) {
  if (!d) {
    check(d.error().message.starts_with(origin + ": ") && d.error().message.size() > origin.size() + 2,
          "a refused command line names its flag and says why");
    return;
  }
  check(d->keys.contains("model") && d->name == d->keys.at("model").text, "a deployment is named after its model");
  check(d->keys.contains("engine") && d->keys.at("engine").text == engine, "a deployment has its engine");
  check(d->file == origin, "a deployment says which flag it came from");
  for (const auto& [k, v] : d->keys) {
    check(known(vramcalc::io::deployment_keys(), k), "every key is a known key");
    check(v.path.starts_with(origin), "every value says which flag set it");
  }
  for (const auto& [k, v] : d->engine_options) {
    check(known(vramcalc::io::engine_option_keys(), k), "every engine option is a known option");
    check(v.path.starts_with(origin), "every engine option says which flag set it");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vramcalc::fuzz::as_text(data, size);
  const auto words = vramcalc::io::split_command_line(text, "fuzz");
  if (!words) {
    check(words.error().message.starts_with("fuzz: unterminated "), "a refused line says which quote is open");
  } else {
    std::string again;
    for (const std::string& w : *words) again += (again.empty() ? "" : " ") + quoted(w);
    const auto back = vramcalc::io::split_command_line(again, "fuzz");
    check(back && *back == *words, "quoted words split back to themselves");
  }
  deployment(vramcalc::io::deployment_from_vllm(text), "--vllm", "vllm");
  deployment(vramcalc::io::deployment_from_llama_server(text), "--llama-server", "llamacpp");
  deployment(vramcalc::io::deployment_from_sglang(text), "--sglang", "sglang");
  deployment(vramcalc::io::deployment_from_ollama(text), "--ollama", "ollama");
  if (words) deployment(vramcalc::io::deployment_from_trtllm_args(*words, "--trtllm", false), "--trtllm", "trtllm");
  return 0;
}
