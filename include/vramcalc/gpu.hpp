// A GPU (or accelerator) as the fit check needs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vramcalc {

struct GpuSpec {
  std::string id;   // "h100-sxm"
  std::string name; // "NVIDIA H100 SXM 80GB"
  std::string vendor;
  // datacenter, workstation, consumer or mac (Apple unified memory): what kind of machine it
  // goes in, for the default fit table's choice and order. Optional in a catalog file (an
  // Apple entry is a mac, others datacenter).
  std::string segment = "datacenter";
  std::vector<std::string> aliases;
  std::uint64_t memory_bytes = 0;      // what the driver reports (nvidia-smi, rocm-smi)
  std::string memory_basis = "reported"; // or "marketed" when no driver reading was found
  std::string memory_note;
  std::uint32_t usable_percent = 100;  // share a process may use (Apple unified memory: 75)
  double bandwidth_gb_per_s = 0;       // decimal GB/s; display and speed bounds only
  std::optional<double> bf16_tflops;   // dense
  std::optional<double> fp8_tflops;    // dense
  std::optional<bool> fp4;
  std::optional<double> price_usd_per_hour;
  std::vector<std::string> sources;
  bool custom = false;                 // from --gpu-mem, not the catalog
  // The total CUDA reports (torch.cuda.mem_get_info), below nvidia-smi's: what the serving
  // engines (vLLM, TensorRT-LLM, ...) size their budgets from. Measured for some GPUs (with its source);
  // cuda_visible_bytes() gives the rule for the others.
  std::optional<std::uint64_t> cuda_memory_bytes;
  std::string cuda_memory_source;
};

// What CUDA reports as the GPU's total: the measured figure where the catalog has one; for
// other NVIDIA GPUs the driver's total less 512 MiB (docs/gpus.md: within 0.3% of the
// measured ones); a --gpu-mem GPU and other vendors' as given.
[[nodiscard]] std::uint64_t cuda_visible_bytes(const GpuSpec& gpu);
// Where cuda_visible_bytes() comes from, in words.
[[nodiscard]] std::string cuda_visible_source(const GpuSpec& gpu);

// Bytes of one device the model may use: memory x usable_percent / 100, rounded down.
[[nodiscard]] std::uint64_t usable_bytes(const GpuSpec& gpu);

} // namespace vramcalc
