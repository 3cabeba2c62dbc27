// A small YAML (and JSON) document tree over libyaml's event parser, for the deployment
// files of `vramcalc check`: every node keeps its line and column, mappings keep duplicate
// keys (so a reader can refuse them), aliases share their anchor's node instead of copying
// it, and the tree is bounded (nodes, nesting, aliases) so a hostile file fails fast.
// libyaml parses about 50 times faster than yaml-cpp and keeps a tenth of the memory
// (docs/performance.md). Private to src/io.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vramcalc::io::yaml {

struct Mark {
  std::uint64_t line = 0, column = 0; // 1-based
};

enum class Kind : std::uint8_t { null, scalar, sequence, mapping };

struct Node {
  Kind kind = Kind::null;
  Mark mark;
  std::string_view scalar; // Kind::scalar: the text as written, quotes removed
  std::span<const Node* const> items;                                // Kind::sequence
  std::span<const std::pair<const Node*, const Node*>> pairs;        // Kind::mapping, in order, duplicates kept

  [[nodiscard]] bool is_scalar() const { return kind == Kind::scalar; }
  [[nodiscard]] bool is_map() const { return kind == Kind::mapping; }
  [[nodiscard]] bool is_sequence() const { return kind == Kind::sequence; }
  [[nodiscard]] bool is_null() const { return kind == Kind::null; }
};

// Owns a stream's nodes, scalar texts and child lists, in blocks of 64 KiB (or one block for
// anything larger): a node is 72 bytes and a document of 10,000 deployments allocates ~100
// blocks instead of ~100,000 strings and vectors (under ASan every allocation also costs a
// redzone and stays in the quarantine: docs/reliability.md, "Memory").
class Arena {
public:
  // `bytes` of storage aligned to `align` (a power of two, at most alignof(std::max_align_t)).
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align);

private:
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::size_t used_ = 0, size_ = 0; // of the newest block
};

struct Stream {
  std::vector<const Node*> documents; // one root per document, in order
  std::size_t node_count = 0;
  std::unique_ptr<Arena> arena = std::make_unique<Arena>(); // addresses stay put when the stream moves
};

struct ParseError {
  Mark mark;
  std::string message;
};

struct Limits {
  std::size_t max_nodes = 300000;  // about 22 MB of tree at most (72 bytes a node); 10,000 deployments take ~70,000
  std::size_t max_depth = 64;      // nested sequences and mappings
  std::size_t max_aliases = 10000;
  // A list or a stream longer than the deployments one run checks (10,000) is refused as it is
  // read, before its tree is built: 100,000 deployments cost 166 MB under ASan when refused
  // only at max_nodes.
  std::size_t max_items = 10000;     // per sequence
  std::size_t max_documents = 10000;
};

[[nodiscard]] std::expected<Stream, ParseError> parse(std::string_view text, const Limits& limits = {});

} // namespace vramcalc::io::yaml
