// libyaml events to a bounded tree (yaml_dom.hpp).
#include "yaml_dom.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <type_traits>

#include <yaml.h>

#include <map>
#include <memory>

namespace vramcalc::io::yaml {

namespace {

// Nodes live in the arena and are never destroyed one by one.
static_assert(std::is_trivially_destructible_v<Node>);

Mark mark_of(const yaml_mark_t& m) { return {m.line + 1, m.column + 1}; }

// YAML 1.1's plain null: nothing, "~" or "null" in any of its three spellings.
bool plain_null(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

struct Parser {
  yaml_parser_t p{};
  Parser() { yaml_parser_initialize(&p); }
  ~Parser() { yaml_parser_delete(&p); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Event {
  yaml_event_t e{};
  bool held = false;
  ~Event() {
    if (held) yaml_event_delete(&e);
  }
  void reset() {
    if (held) yaml_event_delete(&e);
    held = false;
  }
};

// Copies `n` objects into the arena (trivially copyable: characters, pointers, pairs of them).
template <class T>
std::span<const T> keep(Arena& arena, const T* first, std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (n == 0) return {};
  auto* out = static_cast<T*>(arena.allocate(n * sizeof(T), alignof(T)));
  std::memcpy(static_cast<void*>(out), first, n * sizeof(T));
  return {out, n};
}

// Builds the tree from libyaml's events, one at a time; a failure is kept in `error` (the
// parse stops there).
class TreeBuilder {
public:
  explicit TreeBuilder(const Limits& limits) : limits_(limits), arena_(*out_.arena) {}

  // Handles one event; false when the tree is complete (the stream ended) or an error was found.
  bool on(const yaml_event_t& e) {
    const Mark m = mark_of(e.start_mark);
    switch (e.type) {
    case YAML_STREAM_END_EVENT: return false;
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_NO_EVENT: break;
    case YAML_DOCUMENT_END_EVENT: anchors_.clear(); break; // anchors do not cross documents
    case YAML_ALIAS_EVENT: alias(e, m); break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: node(e, m); break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: attach(close()); break;
    }
    if (too_long_ && !error) {
      fail(too_long_at_, "more than " + with_commas(std::min(limits_.max_items, limits_.max_documents)) +
                             " list items or documents: not a deployment file (one run checks at most 10,000 "
                             "deployments; split the file)");
    }
    return !error;
  }

  std::optional<ParseError> error;
  [[nodiscard]] Stream take() { return std::move(out_); }

private:
  // An open collection: its node, where its children start in `children_`, and its anchor
  // (registered when the collection ends: an alias inside it would be a cycle).
  struct Open {
    Node* node;
    std::size_t first;
    std::string anchor;
  };

  void fail(const Mark& m, std::string message) { error = ParseError{m, std::move(message)}; }

  void alias(const yaml_event_t& e, const Mark& m) {
    if (++aliases_ > limits_.max_aliases) return fail(m, "more than " + std::to_string(limits_.max_aliases) + " aliases");
    const std::string name(reinterpret_cast<const char*>(e.data.alias.anchor));
    const auto it = anchors_.find(name);
    if (it == anchors_.end()) return fail(m, "the alias *" + name.substr(0, 64) + " has no anchor before it");
    attach(it->second);
  }

  // A scalar, or the start of a sequence or a mapping.
  void node(const yaml_event_t& e, const Mark& m) {
    if (out_.node_count >= limits_.max_nodes) {
      return fail(m, "more than " + std::to_string(limits_.max_nodes) + " values: not a deployment file");
    }
    ++out_.node_count;
    Node& n = *new (arena_.allocate(sizeof(Node), alignof(Node))) Node{};
    n.mark = m;
    if (e.type == YAML_SCALAR_EVENT) {
      const std::span<const char> chars =
          keep(arena_, reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
      n.scalar = std::string_view(chars.data(), chars.size());
      n.kind = e.data.scalar.plain_implicit != 0 && e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && plain_null(n.scalar)
                   ? Kind::null
                   : Kind::scalar;
      if (e.data.scalar.anchor != nullptr) anchors_[reinterpret_cast<const char*>(e.data.scalar.anchor)] = &n;
      attach(&n);
      return;
    }
    if (open_.size() >= limits_.max_depth) {
      return fail(m, "nested more than " + std::to_string(limits_.max_depth) + " levels deep");
    }
    n.kind = e.type == YAML_SEQUENCE_START_EVENT ? Kind::sequence : Kind::mapping;
    const yaml_char_t* anchor =
        e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor : e.data.mapping_start.anchor;
    open_.push_back({&n, children_.size(), anchor != nullptr ? reinterpret_cast<const char*>(anchor) : ""});
  }

  // Adds a finished node to the open collection (or as a document's root).
  void attach(const Node* n) {
    if (open_.empty()) {
      if (out_.documents.size() >= limits_.max_documents) {
        too_long_ = true;
        too_long_at_ = n->mark;
        return;
      }
      out_.documents.push_back(n);
      return;
    }
    const Open& top = open_.back();
    if (top.node->kind == Kind::sequence && children_.size() - top.first >= limits_.max_items) {
      too_long_ = true;
      too_long_at_ = n->mark;
      return;
    }
    children_.push_back(n);
  }

  // Ends the innermost open collection: its children into the arena.
  const Node* close() {
    Open& top = open_.back();
    const Node* const* first = children_.data() + top.first;
    const std::size_t n = children_.size() - top.first;
    if (top.node->kind == Kind::sequence) {
      top.node->items = keep(arena_, first, n);
    } else {
      // libyaml ends a mapping only after a key's value (an empty value is a null scalar).
      using Pair = std::pair<const Node*, const Node*>;
      if (const std::size_t count = n / 2; count > 0) {
        auto* pairs = static_cast<Pair*>(arena_.allocate(count * sizeof(Pair), alignof(Pair)));
        for (std::size_t i = 0; i < count; ++i) new (pairs + i) Pair(first[2 * i], first[2 * i + 1]);
        top.node->pairs = {pairs, count};
      }
    }
    children_.resize(top.first);
    const Node* done = top.node;
    if (!top.anchor.empty()) anchors_[top.anchor] = done;
    open_.pop_back();
    return done;
  }

  const Limits& limits_;
  Stream out_;
  Arena& arena_;
  std::map<std::string, const Node*, std::less<>> anchors_;
  std::size_t aliases_ = 0;
  std::vector<Open> open_;
  // The children of every open collection, innermost last (a mapping's: key, value, key, ...);
  // a collection's are moved into the arena when it ends.
  std::vector<const Node*> children_;
  bool too_long_ = false; // a sequence or the stream past its limit, at the first item too many
  Mark too_long_at_;
};

} // namespace

void* Arena::allocate(std::size_t bytes, std::size_t align) {
  constexpr std::size_t block = 64 * 1024;
  std::size_t at = (used_ + align - 1) & ~(align - 1);
  if (blocks_.empty() || at + bytes > size_) {
    // A request larger than a block gets a block of its own (a long scalar).
    size_ = std::max(block, bytes);
    blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(size_));
    at = 0;
  }
  used_ = at + bytes;
  return blocks_.back().get() + at;
}

std::expected<Stream, ParseError> parse(std::string_view text, const Limits& limits) {
  Parser parser;
  yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  yaml_parser_set_encoding(&parser.p, YAML_UTF8_ENCODING);
  TreeBuilder tree(limits);
  Event ev;
  while (true) {
    ev.reset();
    if (yaml_parser_parse(&parser.p, &ev.e) == 0) {
      const Mark m = mark_of(parser.p.problem_mark);
      std::string what = parser.p.problem != nullptr ? parser.p.problem : "a syntax error";
      if (parser.p.context != nullptr) what = std::string(parser.p.context) + ": " + what;
      return std::unexpected(ParseError{m, what});
    }
    ev.held = true;
    if (!tree.on(ev.e)) break;
  }
  if (tree.error) return std::unexpected(std::move(*tree.error));
  return tree.take();
}

} // namespace vramcalc::io::yaml
