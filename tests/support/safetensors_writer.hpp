// A small in-memory safetensors writer for the tests, and a temporary directory.
// Layout as in huggingface/safetensors: u64 LE header length N, N bytes of JSON (padded
// with spaces to a multiple of 8, as the reference writer does), then the data buffer.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace vramcalc::test {

// A whole safetensors file from a JSON header text and a data buffer of `data_bytes` zeros.
// `pad` adds spaces to a multiple of 8, like the reference writer.
inline std::string safetensors_file(std::string json, std::uint64_t data_bytes, bool pad = true) {
  if (pad) json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += json;
  out.append(static_cast<std::size_t>(data_bytes), '\0');
  return out;
}

class SafetensorsWriter {
public:
  // Appends a tensor after the previous one; `bits` per element (BF16 16, F4 4 ...).
  SafetensorsWriter& tensor(const std::string& name, const std::string& dtype, std::vector<std::uint64_t> shape,
                            std::uint64_t bits) {
    std::uint64_t elements = 1;
    for (std::uint64_t d : shape) elements *= d;
    const std::uint64_t bytes = elements * bits / 8;
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    s += "]";
    entries_.push_back("\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + s + ",\"data_offsets\":[" +
                       std::to_string(offset_) + "," + std::to_string(offset_ + bytes) + "]}");
    offset_ += bytes;
    return *this;
  }
  SafetensorsWriter& metadata(const std::string& key, const std::string& value) {
    metadata_.emplace_back(key, value);
    return *this;
  }
  [[nodiscard]] std::string json() const {
    std::string j = "{";
    bool first = true;
    if (!metadata_.empty()) {
      j += "\"__metadata__\":{";
      for (std::size_t i = 0; i < metadata_.size(); ++i) {
        j += (i ? "," : "") + ("\"" + metadata_[i].first + "\":\"" + metadata_[i].second + "\"");
      }
      j += "}";
      first = false;
    }
    for (const std::string& e : entries_) {
      j += (first ? "" : ",") + e;
      first = false;
    }
    return j + "}";
  }
  [[nodiscard]] std::uint64_t data_bytes() const { return offset_; }
  [[nodiscard]] std::string bytes() const { return safetensors_file(json(), offset_); }

private:
  std::vector<std::string> entries_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::uint64_t offset_ = 0;
};

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("vramcalc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = file(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

private:
  std::filesystem::path path_;
};

} // namespace vramcalc::test
