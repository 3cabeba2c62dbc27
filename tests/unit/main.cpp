// The test runner: Catch2's, plus the exit code 77 ("skipped" to CTest) when every test case
// that ran skipped for want of its fixture (tests/support/skip.hpp).
#define CATCH_CONFIG_RUNNER
#include "../support/skip.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <iostream>

namespace {

std::size_t test_cases_run = 0;

struct CountTestCases : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    ++test_cases_run;
    TestEventListenerBase::testCaseStarting(info);
  }
};

} // namespace

CATCH_REGISTER_LISTENER(CountTestCases)

int main(int argc, char* argv[]) {
  const int failed = Catch::Session().run(argc, argv);
  const std::size_t skipped = vramcalc::test::skipped_test_cases().size();
  if (skipped > 0) std::cout << skipped << " of " << test_cases_run << " test cases skipped (their fixtures are absent)\n";
  if (failed == 0 && skipped > 0 && skipped == test_cases_run) return 77;
  return failed;
}
