#include "vramcalc/dtype.hpp"

#include <catch2/catch.hpp>

using namespace vramcalc;

TEST_CASE("row bytes count block scales") {
  // A row of 1024 elements (8 KV heads x 128):
  CHECK(row_bytes(Dtype::f16, 1024) == 2048);
  CHECK(row_bytes(Dtype::f32, 1024) == 4096);
  CHECK(row_bytes(Dtype::f8_e4m3, 1024) == 1024);
  CHECK(row_bytes(Dtype::q8_0, 1024) == 1024 / 32 * 34); // 1088
  CHECK(row_bytes(Dtype::q4_0, 1024) == 1024 / 32 * 18); // 576
  CHECK(row_bytes(Dtype::q5_1, 1024) == 1024 / 32 * 24); // 768
  CHECK(row_bytes(Dtype::i4, 1024) == 512);
  CHECK(row_bytes(Dtype::q4_k, 4096) == 4096 / 256 * 144);
  CHECK(row_bytes(Dtype::q6_k, 4096) == 4096 / 256 * 210);
  CHECK(row_bytes(Dtype::q8_0, 33) == 2 * 34); // a partial block costs a whole one
}

TEST_CASE("dtype names: canonical and engine spellings") {
  CHECK(parse_dtype("fp16") == Dtype::f16);
  CHECK(parse_dtype("f16") == Dtype::f16);
  CHECK(parse_dtype("float16") == Dtype::f16);
  CHECK(parse_dtype("BF16") == Dtype::bf16);
  CHECK(parse_dtype("bfloat16") == Dtype::bf16);
  CHECK(parse_dtype("fp8") == Dtype::f8_e4m3);
  CHECK(parse_dtype("fp8_e4m3") == Dtype::f8_e4m3);
  CHECK(parse_dtype("fp8_e5m2") == Dtype::f8_e5m2);
  CHECK(parse_dtype("Q8_0") == Dtype::q8_0);
  CHECK(parse_dtype("q4_0") == Dtype::q4_0);
  CHECK(parse_dtype("f32") == Dtype::f32);
  CHECK(parse_dtype("int8") == Dtype::i8);
  CHECK(parse_dtype("int4") == Dtype::i4);
  CHECK_FALSE(parse_dtype("fp7").has_value());
}

TEST_CASE("ggml type ids match enum ggml_type") {
  CHECK(traits(Dtype::f16).ggml_id == 1);
  CHECK(traits(Dtype::q4_k).ggml_id == 12);
  CHECK(traits(Dtype::bf16).ggml_id == 30);
  CHECK(traits(Dtype::mxfp4).ggml_id == 39);
}
