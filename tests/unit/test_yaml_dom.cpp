// The YAML tree of deployment files (src/io/yaml_dom.hpp): nodes, texts and child lists in an
// arena, in document order, duplicates kept, aliases sharing their anchor's node.
#include "yaml_dom.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

using namespace vramcalc::io;

TEST_CASE("yaml tree: children in order, duplicate keys kept, marks", "[yaml]") {
  const auto s = yaml::parse("a: 1\nb: [x, {c: d}]\na: 2\n");
  REQUIRE(s);
  REQUIRE(s->documents.size() == 1);
  const yaml::Node& root = *s->documents[0];
  REQUIRE(root.is_map());
  REQUIRE(root.pairs.size() == 3);
  CHECK(root.pairs[0].first->scalar == "a");
  CHECK(root.pairs[0].second->scalar == "1");
  CHECK(root.pairs[2].first->scalar == "a"); // the duplicate stays, for the reader to refuse
  CHECK(root.pairs[2].second->scalar == "2");
  CHECK(root.pairs[2].second->mark.line == 3);
  CHECK(root.pairs[2].second->mark.column == 4);
  const yaml::Node& list = *root.pairs[1].second;
  REQUIRE(list.is_sequence());
  REQUIRE(list.items.size() == 2);
  CHECK(list.items[0]->scalar == "x");
  REQUIRE(list.items[1]->pairs.size() == 1);
  CHECK(list.items[1]->pairs[0].second->scalar == "d");
  // a, 1, b, [..], x, {..}, c, d, a, 2 and the root mapping.
  CHECK(s->node_count == 11);
}

TEST_CASE("yaml tree: nulls, empty collections, aliases, a scalar larger than a block", "[yaml]") {
  const std::string big(200 * 1024, 'z'); // over the arena's 64 KiB block: a block of its own
  auto s = yaml::parse("k: ~\ne: []\nm: {}\nx: &a [1, 2]\ny: *a\nbig: " + big + "\n");
  REQUIRE(s);
  const yaml::Node& root = *s->documents[0];
  REQUIRE(root.pairs.size() == 6);
  CHECK(root.pairs[0].second->is_null());
  CHECK(root.pairs[1].second->is_sequence());
  CHECK(root.pairs[1].second->items.empty());
  CHECK(root.pairs[2].second->is_map());
  CHECK(root.pairs[2].second->pairs.empty());
  CHECK(root.pairs[4].second == root.pairs[3].second); // the alias is the anchor's node
  CHECK(root.pairs[5].second->scalar == big);
  // Moving the stream keeps every node where it was.
  const yaml::Node* before = s->documents[0];
  yaml::Stream moved = std::move(*s);
  CHECK(moved.documents[0] == before);
  CHECK(moved.documents[0]->pairs[5].second->scalar.size() == big.size());
}

TEST_CASE("yaml tree: several documents, a list over its limit", "[yaml]") {
  const auto s = yaml::parse("a: 1\n---\n- 1\n- 2\n");
  REQUIRE(s);
  REQUIRE(s->documents.size() == 2);
  CHECK(s->documents[1]->items.size() == 2);
  yaml::Limits limits;
  limits.max_items = 3;
  const auto over = yaml::parse("[1, 2, 3, 4]", limits);
  REQUIRE_FALSE(over);
  CHECK(over.error().mark.column == 11); // at the first item too many
  CHECK(yaml::parse("[1, 2, 3]", limits));
}
