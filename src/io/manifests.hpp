// The deployments CI actually holds: Kubernetes objects (Deployment, StatefulSet, Pod, Job,
// LeaderWorkerSet, KServe InferenceService; `helm template` output is the same), Docker
// Compose files and vLLM config files, read into the same Deployment a vramcalc deployment
// file gives (docs/ci.md, "Manifests"). Private to the deploy library.
#pragma once

#include "deployments.hpp"
#include "yaml_dom.hpp"

#include "vramcalc/io/catalog.hpp"

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io::detail {

// "file:line:col" of a node (the file alone when the node has no position).
[[nodiscard]] std::string where(std::string_view origin, const yaml::Mark& m);
[[nodiscard]] Error error_at(std::string_view origin, const yaml::Mark& m, const std::string& path,
                             const std::string& what);

struct ManifestContext {
  std::string_view origin;
  const GpuLabels* labels; // may be null: no GPU type is read from node labels
  DeploymentFile& file;
  std::set<std::string>& names;
};

// What kind of document `root` is, by its content.
enum class DocumentKind : std::uint8_t { deployments, kubernetes, compose, vllm_config, unknown };
[[nodiscard]] DocumentKind document_kind(const yaml::Node& root);

// Reads one Kubernetes object (a List's items too), compose file or vLLM config into
// deployments, errors and skipped workloads.
void read_manifest(const yaml::Node& root, DocumentKind kind, ManifestContext& ctx);

} // namespace vramcalc::io::detail
