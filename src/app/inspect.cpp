// `vramcalc inspect`: what a model's files hold, by tensor group.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/output_file.hpp"
#include "deployments.hpp"

#include <fmt/format.h>
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <set>
#include <array>
#include <algorithm>
#include <map>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <fstream>


namespace vramcalc::app {

Outcome run_inspect(const Options& o) {
  if (o.model.empty()) fail(ErrorCode::invalid_argument, "inspect: give a GGUF or safetensors file, or a model directory");
  if (!io::is_model_files_path(o.model)) {
    std::error_code ec;
    if (!std::filesystem::exists(o.model, ec)) {
      fail(ErrorCode::io, "inspect: cannot read '" + o.model + "': No such file or directory");
    }
    fail(ErrorCode::invalid_argument, "inspect: '" + o.model +
                                          "' is not a .gguf, .safetensors or .safetensors.index.json file, nor a "
                                          "directory holding them");
  }
  // A bare safetensors file (no config.json beside it): its tensors by dtype, no architecture.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(o.model);
    const bool st = !fs::is_directory(p, ec) && !o.model.ends_with(".gguf");
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (st && !fs::exists(dir / "config.json", ec)) {
      const io::SafetensorsSet set = value_or_fail(o.model.ends_with(".json") ? io::read_safetensors_index(o.model)
                                                                              : io::read_safetensors_file(o.model));
      InspectReport r;
      r.kind = "safetensors";
      r.files = set.files.empty() ? std::vector<std::string>{o.model} : set.files;
      for (const auto& [k, v] : set.metadata) r.facts.emplace_back("__metadata__." + k, v);
      std::map<std::string, InspectGroup> by_type;
      for (const io::SafetensorsTensor& t : set.tensors) {
        InspectGroup& g = by_type[std::string(t.dtype)];
        g.group = "dtype " + std::string(t.dtype);
        g.types = t.dtype;
        ++g.tensors;
        g.params = checked_add(g.params, t.elements(), "the element count");
        g.bytes = checked_add(g.bytes, t.bytes(), "the tensor bytes");
      }
      for (auto& [k, g] : by_type) r.groups.push_back(g);
      r.tensor_count = set.tensors.size();
      r.tensor_bytes = set.tensor_bytes();
      r.file_bytes = set.file_bytes;
      r.warnings.push_back("no config.json beside the file: the architecture is unknown, tensors are listed by dtype "
                           "(params: stored elements)");
      if (o.json) return {render_inspect_json(r), 0};
      if (o.format != "table") return {render_tabular(render_inspect_json(r), "groups", o.format), 0};
      return {render_inspect(r, o.render), 0};
    }
  }
  io::ModelFiles mf = value_or_fail(io::open_model_files(o.model));
  const ModelSpec& spec = mf.spec;
  InspectReport r;
  r.kind = mf.kind;
  r.files = mf.files;
  r.facts = mf.facts;
  r.arch = spec.arch;
  r.vocab_size = spec.vocab_size;
  Settings s;
  s.weights = mf.format;
  s.kv_dtype = mf.kind == "gguf" ? Dtype::f16 : spec.dtype; // llama.cpp's default cache type
  s.context_tokens = std::max<std::uint64_t>(1, spec.max_context);
  auto est = estimate(spec, s, {});
  if (!est) fail(ErrorCode::overflow, overflow_message(spec, s, est.error()));
  r.model = est->model;
  r.kv_dtype = est->settings.kv_display;
  r.kv_bytes_per_token = est->memory.kv_bytes_per_token;
  r.state_bytes_per_sequence = est->memory.state_bytes;
  r.file_bytes = mf.format.file ? mf.format.file->file_bytes : 0;
  r.tensor_bytes = mf.tensor_bytes;
  r.tensor_count = mf.tensors.size();
  r.missing_count = mf.missing_count;
  r.warnings = mf.warnings;
  // Per group, in TensorGroup order; parameters from the model's tensors, counted once each.
  std::map<std::string, std::uint64_t> elements;
  for (const Tensor& t : model_tensors(spec)) elements[t.gguf_name()] = t.elements();
  constexpr std::size_t n_groups = static_cast<std::size_t>(TensorGroup::other) + 1;
  std::array<InspectGroup, n_groups> groups{};
  std::array<std::set<std::string>, n_groups> types;
  std::set<std::string> counted;
  for (const io::FileTensorInfo& t : mf.tensors) {
    const auto g = static_cast<std::size_t>(t.group);
    InspectGroup& ig = groups[g];
    ig.group = std::string(tensor_group_name(t.group));
    ++ig.tensors;
    ig.bytes = checked_add(ig.bytes, t.bytes, "the tensor bytes");
    types[g].insert(t.type);
    if (t.mapped.empty()) {
      ig.params = checked_add(ig.params, t.elements, "the parameter count");
      r.unmatched.push_back(t.name);
    } else if (counted.insert(t.mapped).second) {
      ig.params = checked_add(ig.params, elements[t.mapped], "the parameter count");
    }
  }
  for (std::size_t g = 0; g < n_groups; ++g) {
    if (groups[g].tensors == 0) continue;
    for (const std::string& ty : types[g]) groups[g].types += (groups[g].types.empty() ? "" : "+") + ty;
    r.groups.push_back(groups[g]);
  }
  if (o.json) return {render_inspect_json(r), 0};
  if (o.format != "table") return {render_tabular(render_inspect_json(r), "groups", o.format), 0};
  return {render_inspect(r, o.render), 0};
}


} // namespace vramcalc::app
