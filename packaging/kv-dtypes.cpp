// Build-time helper for the shell completions (not installed): prints the KV-cache dtypes
// vramcalc accepts, from the table the tool uses (dtype_table rows with kv_allowed), one
// per line as "name<TAB>description". A dtype whose display name starts with another
// accepted spelling ("fp8 (e4m3)" for fp8_e4m3) gets that spelling first: users type it.
#include "vramcalc/dtype.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

void row(std::string_view name, const std::string& description) {
  std::printf("%s\t%s\n", std::string(name).c_str(), description.c_str());
}

} // namespace

int main() {
  for (const vramcalc::DtypeTraits& t : vramcalc::dtype_table) {
    if (!t.kv_allowed) continue;
    const std::string_view display = vramcalc::dtype_display(t.id);
    const std::uint64_t tenths = t.block_bytes * 80ull / t.block_elems; // bits per value, x10
    std::string description = display == t.name ? "" : std::string(display) + ", ";
    description += std::to_string(tenths / 10);
    if (tenths % 10 != 0) description += "." + std::to_string(tenths % 10);
    description += " bits per value";
    const std::string_view first = display.substr(0, display.find(' '));
    if (first != t.name && vramcalc::parse_dtype(first) == t.id) row(first, description);
    row(t.name, description);
  }
  return 0;
}
