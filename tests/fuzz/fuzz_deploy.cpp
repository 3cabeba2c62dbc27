// io::read_deployments (the files of `vramcalc check`, YAML or JSON through libyaml) on any
// text, read as a .yaml file and, when it starts like JSON, as a .json file too: deployments
// each with a unique name and a model, and errors that each start with the file's name and
// carry its line when they have one; parse_deployments fails exactly when there is an error.
#include "fuzz_util.hpp"

#include "deployments.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace {

using vramcalc::fuzz::check;

bool known(const std::vector<std::string_view>& list, const std::string& key) {
  return std::ranges::find(list, key) != list.end();
}

void parse(std::string_view text, std::string_view origin) {
  const vramcalc::io::DeploymentFile file = vramcalc::io::read_deployments(text, origin);
  const auto first = vramcalc::io::parse_deployments(text, origin);
  check(first.has_value() == file.errors.empty(), "parse_deployments fails exactly on an error");
  for (const vramcalc::Error& e : file.errors) {
    check(e.message.starts_with(origin) && e.message.size() > origin.size() + 2, "an error names the file and says why");
    check(e.file == origin, "an error names its file");
    check(e.line == 0 || e.message.starts_with(std::string(origin) + ":" + std::to_string(e.line) + ":"),
          "an error's line is the one its message gives");
  }
  check(!file.errors.empty() || !file.deployments.empty(), "a file without errors has a deployment");
  std::set<std::string> names;
  for (std::size_t i = 0; i < file.deployments.size(); ++i) {
    const vramcalc::io::Deployment& d = file.deployments[i];
    check(d.file == origin && d.index == i && d.where.starts_with(origin), "a deployment says where it is");
    for (const char* k : {"name", "model"}) {
      check(d.keys.contains(k) && !d.keys.at(k).text.empty(), "a deployment has a name and a model");
    }
    check(d.name == d.keys.at("name").text, "the name is the name key");
    check(names.insert(d.name).second, "names are unique");
    for (const auto& [k, v] : d.keys) {
      check(known(vramcalc::io::deployment_keys(), k), "every key is a known key");
      check(!v.text.empty() && v.where.starts_with(origin) &&
                (v.path.starts_with("deployments[") || v.path.starts_with("defaults.")),
            "every value is non-empty and says where it came from");
    }
    for (const auto& [k, v] : d.engine_options) {
      check(known(vramcalc::io::engine_option_keys(), k), "every engine option is a known option");
      check(v.where.starts_with(origin), "every engine option says where it came from");
    }
    check(d.ignored.empty(), "a file ignores nothing");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = vramcalc::fuzz::as_text(data, size);
  parse(text, "fuzz.yaml");
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) parse(text, "fuzz.json");
  return 0;
}
