// llama.cpp's own quantizer as the oracle for the GGUF mixes: each shared fixture is
// quantized by the real llama_model_quantize to every mix, and vramcalc's prediction of
// each tensor's type and bytes must equal the file llama.cpp wrote. Runs only when
// VRAMCALC_ORACLE_RUN names the oracle's run.sh (tests/oracle/llamacpp-quantize.sh sets it up).
#include "../support/safetensors_writer.hpp" // TempDir
#include "../support/shared_dir.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/tensors.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

using namespace vramcalc;
using namespace vramcalc::test;

TEST_CASE("llama.cpp's quantizer: every mix, tensor by tensor", "[oracle]") {
  const char* run = std::getenv("VRAMCALC_ORACLE_RUN");
  if (run == nullptr || *run == '\0') {
    WARN("skipped: VRAMCALC_ORACLE_RUN is not set (tests/oracle/llamacpp-quantize.sh sets it)");
    return;
  }
  const std::string fixtures = shared_dir() + "/fixtures/gguf";
  TempDir tmp;
  std::vector<std::string> skipped;
  std::size_t compared = 0;
  for (const char* base : {"tiny-llama-f16", "tiny-gemma3-swa-f16"}) {
    const std::string in = fixtures + "/" + base + ".gguf";
    const auto src = io::read_gguf_file(in);
    REQUIRE(src);
    const auto model = io::gguf_to_spec(*src);
    REQUIRE(model);
    const ModelSpec& spec = model->spec;
    std::vector<Tensor> tensors = model_tensors(spec);
    std::erase_if(tensors, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
    for (const GgufFtypeTraits& ft : gguf_ftypes()) {
      if (ft.id == GgufFtype::all_f32) continue; // not a quantization
      const std::string out = tmp.file(std::string(base) + "-" + std::string(ft.name) + ".gguf");
      const std::string cmd = std::string("'") + run + "' quantize '" + in + "' '" + out + "' " +
                              std::to_string(ft.llama_ftype) + " > /dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        skipped.push_back(std::string(base) + " " + std::string(ft.name)); // e.g. a mix that needs an imatrix
        continue;
      }
      const auto file = io::read_gguf_file(out);
      REQUIRE(file);
      const auto format = parse_weight_format(ft.name, spec.dtype);
      REQUIRE(format);
      const std::vector<TensorStorage> predicted = tensor_storage(spec, tensors, *format);
      std::map<std::string, const io::GgufTensorInfo*> written;
      for (const io::GgufTensorInfo& t : file->tensors) written[t.name] = &t;
      CHECK(written.size() == tensors.size());
      std::uint64_t total = 0;
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const std::string name = tensors[i].gguf_name();
        INFO(base << " " << ft.name << " " << name);
        const auto it = written.find(name);
        REQUIRE(it != written.end());
        INFO("written " << io::ggml_type_name(it->second->ggml_type) << ", predicted " << traits(predicted[i].dtype).name);
        CHECK(static_cast<std::int64_t>(it->second->ggml_type) == traits(predicted[i].dtype).ggml_id);
        CHECK(it->second->bytes == predicted[i].bytes);
        total += predicted[i].bytes;
      }
      CHECK(total == file->tensor_bytes());
      ++compared;
    }
  }
  std::string s;
  for (const std::string& x : skipped) s += (s.empty() ? "" : ", ") + x;
  WARN("compared " << compared << " quantized files; llama.cpp refused: " << (s.empty() ? "none" : s));
  CHECK(compared >= 40);
}
