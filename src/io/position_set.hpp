// Internal to src/io: a set of positions in a vector of named things, for the readers'
// duplicate checks (GGUF keys and tensor names, safetensors tensor names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace vramcalc::io::detail {

// A set of positions in a vector of named things, looked up by name: duplicate keys and
// tensor names are found without a second copy of every name. Open addressing over
// (hash, position) pairs, at most half full: one probe sequence per lookup, no allocation
// per name.
class PositionSet {
public:
  using NameOf = std::string_view (*)(const void* owner, std::uint32_t position);
  PositionSet(const void* owner, NameOf name_of) : owner_(owner), name_of_(name_of) {}

  // The position holding `name`, if any.
  std::optional<std::uint32_t> find(std::string_view name) const {
    if (slots_.empty()) return std::nullopt;
    const std::uint32_t h = hash(name);
    for (std::size_t i = h & mask(); slots_[i].used(); i = (i + 1) & mask()) {
      if (slots_[i].hash == h && name_of_(owner_, slots_[i].position()) == name) return slots_[i].position();
    }
    return std::nullopt;
  }
  bool contains(std::string_view name) const { return find(name).has_value(); }
  void insert(std::uint32_t position) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    place({hash(name_of_(owner_, position)), position + 1});
    ++size_;
  }
  // Room for `n` positions without growing (a reader that knows its count).
  void reserve(std::size_t n) {
    std::size_t size = 64;
    while (size < 2 * n) size *= 2;
    if (size > slots_.size()) rehash(size);
  }
  void clear() {
    slots_ = {};
    size_ = 0;
  }

private:
  // 8 bytes: the low 32 bits of the name's hash and the position + 1 (0: empty).
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t position_plus_one = 0;
    [[nodiscard]] bool used() const { return position_plus_one != 0; }
    [[nodiscard]] std::uint32_t position() const { return position_plus_one - 1; }
  };
  static std::uint32_t hash(std::string_view s) {
    return static_cast<std::uint32_t>(std::hash<std::string_view>{}(s));
  }
  std::size_t mask() const { return slots_.size() - 1; }
  void place(const Slot& s) {
    std::size_t i = s.hash & mask();
    while (slots_[i].used()) i = (i + 1) & mask();
    slots_[i] = s;
  }
  void rehash(std::size_t size) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    for (const Slot& s : old) {
      if (s.used()) place(s);
    }
  }
  const void* owner_;
  NameOf name_of_;
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

} // namespace vramcalc::io::detail
