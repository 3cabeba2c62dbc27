// The engines' part of an estimate, private to the core: each engine plans the first
// requested GPU type into its EngineSection alternative and decides that GPU's fit row
// (declared in its header, engine_<id>.hpp). engines.cpp dispatches through engine_table's
// function pointers and, on the section, by overload.
#pragma once

#include "vramcalc/estimate.hpp"

#include <cstdint>
#include <limits>

namespace vramcalc::detail {

// have - need as a signed quantity, saturated at the int64 range.
inline std::int64_t signed_difference(std::uint64_t have, std::uint64_t need) {
  constexpr auto cap = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return have >= need ? static_cast<std::int64_t>(std::min(have - need, cap))
                      : -static_cast<std::int64_t>(std::min(need - have, cap));
}

// engines.cpp: the engine of `settings` (not generic), `layout` the fit row's parallelism.
EngineSection engine_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// The engine's fit row for the GPU it planned: its verdict, needs and headroom.
void engine_decide(FitRow& row, const EngineSection& e, std::uint64_t batch);
// The most GPUs of one type the engine can use for `model` (the fewest-count search's bound).
std::uint32_t engine_most_gpus(EngineKind engine, const ModelSpec& model);

} // namespace vramcalc::detail
