// io::parse_safetensors_index on any text: the tensor -> shard map of a sharded checkpoint,
// or an Error naming the file. Only the text: read_safetensors_index adds the file system
// (the shards' own headers are fuzz_safetensors' job).
#include "fuzz_util.hpp"

#include "vramcalc/io/safetensors.hpp"

#include <algorithm>
#include <set>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vramcalc::fuzz::check;
  const auto index = vramcalc::io::parse_safetensors_index(vramcalc::fuzz::as_text(data, size),
                                                           "model.safetensors.index.json");
  if (!index) {
    // "FILE: /json/path: what" or, for a syntax error, "FILE:LINE:COLUMN: what".
    check(index.error().message.starts_with("model.safetensors.index.json:") &&
              index.error().message.size() > 32,
          "a refused index names the file and says why");
    return 0;
  }
  check(!index->weight_map.empty() && !index->shards.empty(), "a parsed index maps at least one tensor");
  check(std::ranges::is_sorted(index->shards) &&
            std::ranges::adjacent_find(index->shards) == index->shards.end(),
        "the shards are sorted and distinct");
  std::set<std::string> named;
  for (const auto& [tensor, shard] : index->weight_map) named.insert(shard);
  check(named == std::set<std::string>(index->shards.begin(), index->shards.end()),
        "the shards are exactly those the weight_map names");
  return 0;
}
