// The page's files (src/serve/page/), embedded at build time by cmake/embed_page.cmake.
#pragma once

#include <span>
#include <string_view>

namespace vramcalc::serve {

struct PageFile {
  std::string_view path; // "index.html", "app.js"
  std::string_view body;
};

std::span<const PageFile> page_files();

} // namespace vramcalc::serve
