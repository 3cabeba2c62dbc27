// libyaml events to a bounded tree (yaml_dom.hpp).
#include "yaml_dom.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>

#include <yaml.h>

#include <map>
#include <memory>

namespace vramcalc::io::yaml {

namespace {

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

} // namespace

std::expected<Stream, ParseError> parse(std::string_view text, const Limits& limits) {
  Parser parser;
  yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  yaml_parser_set_encoding(&parser.p, YAML_UTF8_ENCODING);
  Stream out;
  std::map<std::string, const Node*, std::less<>> anchors;
  std::size_t aliases = 0;
  // The open collections: a node, and for a mapping the key waiting for its value.
  struct Open {
    Node* node;
    const Node* key = nullptr;
    std::string anchor; // registered when the collection ends: an alias inside it would be a cycle
  };
  std::vector<Open> open;
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
    Open& top = open.back();
    if (top.node->kind == Kind::sequence) {
      if (top.node->items.size() >= limits.max_items) {
        too_long = true;
        too_long_at = n->mark;
        return;
      }
      top.node->items.push_back(n);
    } else if (top.key == nullptr) {
      top.key = n;
    } else {
      top.node->pairs.emplace_back(top.key, n);
      top.key = nullptr;
    }
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
      if (out.nodes.size() >= limits.max_nodes) {
        return fail(m, "more than " + std::to_string(limits.max_nodes) + " values: not a deployment file");
      }
      Node& n = out.nodes.emplace_back();
      n.mark = m;
      const yaml_char_t* anchor = nullptr;
      if (e.type == YAML_SCALAR_EVENT) {
        n.scalar.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
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
        open.push_back({&n, nullptr, anchor != nullptr ? reinterpret_cast<const char*>(anchor) : ""});
      } else {
        if (anchor != nullptr) anchors[reinterpret_cast<const char*>(anchor)] = &n;
        attach(&n);
      }
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      const Node* done = open.back().node;
      if (!open.back().anchor.empty()) anchors[open.back().anchor] = done;
      open.pop_back();
      attach(done);
      break;
    }
    }
    if (too_long) {
      return fail(too_long_at, "more than " + with_commas(std::min(limits.max_items, limits.max_documents)) +
                         " list items or documents: not a deployment file (one run checks at most 10,000 "
                         "deployments; split the file)");
    }
  }
}

} // namespace vramcalc::io::yaml
