// A measurements table of tests/data (comma-separated, a header line, no quoting), its rows as
// header -> cell: how the tests read the oracle's CSV files.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace vramcalc::test {

inline std::vector<std::map<std::string, std::string>> csv_rows(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  const auto cells = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) out.push_back(c);
    if (!line.empty() && line.back() == ',') out.emplace_back(); // an empty last cell
    return out;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = cells(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> c = cells(line);
    REQUIRE(c.size() == header.size());
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < c.size(); ++i) row[header[i]] = c[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

} // namespace vramcalc::test
