// libyaml events to a bounded tree (yaml_dom.hpp).
#include "yaml_dom.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>
#include <cstring>
#include <new>
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
  Stream out;
  Arena& arena = *out.arena;
  std::map<std::string, const Node*, std::less<>> anchors;
  std::size_t aliases = 0;
  // The open collections: a node, where its children start in `children`, and its anchor
  // (registered when the collection ends: an alias inside it would be a cycle).
  struct Open {
    Node* node;
    std::size_t first;
    std::string anchor;
  };
  std::vector<Open> open;
  // The children of every open collection, innermost last (a mapping's: key, value, key, ...);
  // a collection's are moved into the arena when it ends.
  std::vector<const Node*> children;
  const auto fail = [](const Mark& m, std::string message) {
    return std::unexpected(ParseError{m, std::move(message)});
  };
  bool too_long = false; // a sequence or the stream past its limit, at the first item too many
  Mark too_long_at;
  // Adds a finished node to the open collection (or as a document's root).
  const auto attach = [&](const Node* n) {
    if (open.empty()) {
      if (out.documents.size() >= limits.max_documents) {
        too_long = true;
        too_long_at = n->mark;
        return;
      }
      out.documents.push_back(n);
      return;
    }
    const Open& top = open.back();
    if (top.node->kind == Kind::sequence && children.size() - top.first >= limits.max_items) {
      too_long = true;
      too_long_at = n->mark;
      return;
    }
    children.push_back(n);
  };
  // Ends the innermost open collection: its children into the arena.
  const auto close = [&] {
    Open& top = open.back();
    const Node* const* first = children.data() + top.first;
    const std::size_t n = children.size() - top.first;
    if (top.node->kind == Kind::sequence) {
      top.node->items = keep(arena, first, n);
    } else {
      // libyaml ends a mapping only after a key's value (an empty value is a null scalar).
      using Pair = std::pair<const Node*, const Node*>;
      if (const std::size_t count = n / 2; count > 0) {
        auto* pairs = static_cast<Pair*>(arena.allocate(count * sizeof(Pair), alignof(Pair)));
        for (std::size_t i = 0; i < count; ++i) new (pairs + i) Pair(first[2 * i], first[2 * i + 1]);
        top.node->pairs = {pairs, count};
      }
    }
    children.resize(top.first);
    const Node* done = top.node;
    if (!top.anchor.empty()) anchors[top.anchor] = done;
    open.pop_back();
    return done;
  };
  Event ev;
  while (true) {
    ev.reset();
    if (yaml_parser_parse(&parser.p, &ev.e) == 0) {
      const Mark m = mark_of(parser.p.problem_mark);
      std::string what = parser.p.problem != nullptr ? parser.p.problem : "a syntax error";
      if (parser.p.context != nullptr) what = std::string(parser.p.context) + ": " + what;
      return fail(m, what);
    }
    ev.held = true;
    const yaml_event_t& e = ev.e;
    const Mark m = mark_of(e.start_mark);
    switch (e.type) {
    case YAML_STREAM_END_EVENT: return out;
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_NO_EVENT: break;
    case YAML_DOCUMENT_END_EVENT: anchors.clear(); break; // anchors do not cross documents
    case YAML_ALIAS_EVENT: {
      if (++aliases > limits.max_aliases) return fail(m, "more than " + std::to_string(limits.max_aliases) + " aliases");
      const std::string name(reinterpret_cast<const char*>(e.data.alias.anchor));
      const auto it = anchors.find(name);
      if (it == anchors.end()) return fail(m, "the alias *" + name.substr(0, 64) + " has no anchor before it");
      attach(it->second);
      break;
    }
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      if (out.node_count >= limits.max_nodes) {
        return fail(m, "more than " + std::to_string(limits.max_nodes) + " values: not a deployment file");
      }
      ++out.node_count;
      Node& n = *new (arena.allocate(sizeof(Node), alignof(Node))) Node{};
      n.mark = m;
      const yaml_char_t* anchor = nullptr;
      if (e.type == YAML_SCALAR_EVENT) {
        const std::span<const char> chars =
            keep(arena, reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        n.scalar = std::string_view(chars.data(), chars.size());
        n.kind = e.data.scalar.plain_implicit != 0 && e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                         plain_null(n.scalar)
                     ? Kind::null
                     : Kind::scalar;
        anchor = e.data.scalar.anchor;
      } else {
        if (open.size() >= limits.max_depth) {
          return fail(m, "nested more than " + std::to_string(limits.max_depth) + " levels deep");
        }
        n.kind = e.type == YAML_SEQUENCE_START_EVENT ? Kind::sequence : Kind::mapping;
        anchor = e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor : e.data.mapping_start.anchor;
      }
      if (n.kind == Kind::sequence || n.kind == Kind::mapping) {
        open.push_back({&n, children.size(), anchor != nullptr ? reinterpret_cast<const char*>(anchor) : ""});
      } else {
        if (anchor != nullptr) anchors[reinterpret_cast<const char*>(anchor)] = &n;
        attach(&n);
      }
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: attach(close()); break;
    }
    if (too_long) {
      return fail(too_long_at, "more than " + with_commas(std::min(limits.max_items, limits.max_documents)) +
                         " list items or documents: not a deployment file (one run checks at most 10,000 "
                         "deployments; split the file)");
    }
  }
}

} // namespace vramcalc::io::yaml
