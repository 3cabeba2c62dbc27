#include "vramcalc/units.hpp"

#include <catch2/catch.hpp>

using namespace vramcalc;

TEST_CASE("token counts: plain, k = 1024, m = 1048576") {
  CHECK(parse_tokens("131072").value() == 131072);
  CHECK(parse_tokens("128k").value() == 131072);
  CHECK(parse_tokens("128K").value() == 131072);
  CHECK(parse_tokens("1m").value() == 1048576);
  CHECK(parse_tokens("1M").value() == 1048576);
  CHECK(parse_tokens("1.5k").value() == 1536);
  CHECK(parse_tokens("131_072").value() == 131072);
  CHECK(parse_tokens("131,072").value() == 131072);
  CHECK(parse_tokens("1099511627776").value() == (1ull << 40)); // the largest accepted
}

TEST_CASE("token counts: rejected with the reason") {
  CHECK(parse_tokens("abc").error().message == "'abc' is not a token count (examples: 8192, 128k, 1m)");
  CHECK(parse_tokens("-5").error().message == "'-5' is negative; a token count must be at least 1");
  CHECK(parse_tokens("0").error().message == "'0' is zero; a token count must be at least 1");
  CHECK(parse_tokens("1099511627777").error().message ==
        "'1099511627777' is more than the largest context accepted (2^40 = 1,099,511,627,776 tokens)");
  CHECK(parse_tokens("1.0001k").error().message == "'1.0001k' is not a whole number of tokens");
  CHECK(parse_tokens("12q").error().message == "'12q' is not a token count (examples: 8192, 128k, 1m)");
  CHECK(parse_tokens("").error().message == "expected a token count, got an empty value");
  CHECK(!parse_tokens("99999999999999999999").has_value());
}

TEST_CASE("memory sizes: GB is 10^9, GiB is 2^30, bare G is ambiguous") {
  CHECK(parse_size("80GB").value() == 80'000'000'000ull);
  CHECK(parse_size("80GiB").value() == 80ull * 1024 * 1024 * 1024);
  CHECK(parse_size("80 gib").value() == 85'899'345'920ull);
  CHECK(parse_size("1.5GiB").value() == 1'610'612'736ull); // 1.5 x 1,073,741,824
  CHECK(parse_size("512MiB").value() == 536'870'912ull);
  CHECK(parse_size("81559MiB").value() == 85'520'809'984ull); // an H100 as nvidia-smi reports it
  CHECK(parse_size("1024").value() == 1024);
  CHECK(parse_size("24G").error().message == "'24G' has an ambiguous unit 'G': write GB (10^9) or GiB (2^30)");
  CHECK(parse_size("24XB").error().message == "'24XB' has an unknown unit (examples: 24GiB, 80GB, 512MiB)");
  CHECK(parse_size("0.35GiB").value() == 375'809'638ull); // 0.35 x 2^30 = 375,809,638.4, rounded down
  CHECK(parse_size("0.5B").value() == 0);
  CHECK(parse_size("-1GiB").error().message == "'-1GiB' is negative");
}

TEST_CASE("counts and percentages") {
  CHECK(parse_count("8", 64).value() == 8);
  CHECK(parse_count("65", 64).error().message == "'65' is more than 64");
  CHECK(parse_count("0", 64).error().message == "'0' is zero; it must be at least 1");
  CHECK(parse_count("x", 64).error().message == "'x' is not a whole number");
  CHECK(parse_count("x", 64).error().code == ErrorCode::invalid_argument);
  CHECK(parse_count("99999999999999999999999", 64).error().message == "'99999999999999999999999' is more than 64");
  // Limits near 2^64 - 1 = 18,446,744,073,709,551,615: the digits are checked before they are
  // added, so nothing wraps (with the old test, (limit + 9) / 10 wrapped to 0 and 2^64 + 4
  // was read as 4).
  constexpr std::uint64_t max = ~std::uint64_t{0};
  CHECK(parse_count("18446744073709551615", max).value() == max);
  CHECK(parse_count("18446744073709551616", max).error().message ==
        "'18446744073709551616' is more than 18446744073709551615");
  CHECK(parse_count("18446744073709551620", max).has_value() == false);
  CHECK(parse_count("99999999999999999999", max).has_value() == false);
  CHECK(parse_count("18446744073709551614", max - 1).value() == max - 1);
  CHECK(parse_count("18446744073709551615", max - 1).has_value() == false);
  CHECK(parse_count("9", 8).error().message == "'9' is more than 8");
  CHECK(parse_percent_bp("5%").value() == 500);
  CHECK(parse_percent_bp("12.5%").value() == 1250);
  CHECK(!parse_percent_bp("101%").has_value());
}

TEST_CASE("checked arithmetic throws instead of wrapping") {
  CHECK(checked_mul(1ull << 32, 1ull << 31) == 1ull << 63);
  CHECK_THROWS_AS(checked_mul(1ull << 32, 1ull << 32), OverflowError);
  CHECK_THROWS_AS(checked_add(UINT64_MAX, 1), OverflowError);
  CHECK(ceil_div(10, 3) == 4);
  CHECK(ceil_div(UINT64_MAX, 1) == UINT64_MAX);
  CHECK(round_up(1000, 256) == 1024);
}
