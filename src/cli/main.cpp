// vramcalc: parse flags, run one command, print its output. One top-level catch turns
// every failure into "vramcalc: error: ..." and exit code 2 (70 for a bug); output that
// cannot be written is exit code 74 (docs/reliability.md, "Output").
#include "cli.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

// sysexits.h EX_IOERR: the output could not be written (a full disk, a closed descriptor).
constexpr int exit_output_failed = 74;

// The longest message printed: a message quotes input, and input has no bound.
constexpr std::size_t max_message_bytes = 4096;

// Writes all of `s` and flushes; false when the stream failed.
bool write_all(std::FILE* f, std::string_view s) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f) != s.size()) return false;
  return std::fflush(f) == 0 && std::ferror(f) == 0;
}

// stdout could not be written: say so on stderr (if it can be written) and exit 74.
int output_failed(int error) {
  const std::string m = std::string("vramcalc: error: cannot write the output: ") + std::strerror(error) + "\n";
  (void)write_all(stderr, m);
  return exit_output_failed;
}

// Every message leaves as one line of bounded length, its control characters escaped.
vramcalc::Error printable(const vramcalc::Error& e) {
  return {e.code, vramcalc::excerpt(e.message, max_message_bytes)};
}

int fail(const vramcalc::Error& given, bool json) {
  const vramcalc::Error e = printable(given);
  const int code = e.code == vramcalc::ErrorCode::output ? exit_output_failed : 2;
  errno = 0;
  if (json) return write_all(stdout, vramcalc::render_error_json(e)) ? code : output_failed(errno);
  return write_all(stderr, "vramcalc: error: " + e.message + "\n") ? code : exit_output_failed;
}

// A closed stdin, stdout or stderr would be the next file opened (a model file, the --plot
// temporary), and output meant for the terminal would go into it. Each closed one is
// opened on /dev/null for reading, so a write to it fails and is reported.
void guard_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", O_RDONLY | O_NOCTTY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

// CLI11's messages, reworded to name the flag the way the rest of vramcalc does.
std::string parse_error_message(const CLI::ParseError& e) {
  std::string m = e.what();
  const std::string extras = "The following argument was not expected: ";
  const std::string extras_n = "The following arguments were not expected: ";
  if (m.starts_with(extras)) return "unexpected argument '" + m.substr(extras.size()) + "' (see vramcalc --help)";
  if (m.starts_with(extras_n)) return "unexpected arguments: " + m.substr(extras_n.size()) + " (see vramcalc --help)";
  return m + " (see vramcalc --help)";
}

} // namespace

int main(int argc, char** argv) {
  guard_standard_descriptors();
  bool json = false;
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) json = json || std::strcmp(argv[i], "--json") == 0;
  try {
    vramcalc::cli::Options o;
    CLI::App app{"vramcalc: how much GPU memory an LLM needs, and which GPUs hold it", "vramcalc"};
    app.set_version_flag("--version", [] { return vramcalc::cli::version_text(); });
    app.add_option("model", o.model,
                   "catalog id or alias (see 'vramcalc list models'), a model spec .json, a config.json, a .gguf or "
                   ".safetensors file, or a model directory");
    app.add_option("-q,--quant,--weights", o.quant,
                   "weight format (comma list or 'all' to compare): fp32 bf16 fp8 int8 gptq-int4-g128 awq nf4 mxfp4 "
                   "nvfp4 exl2-4.65 q8_0 q6_k q5_k_m q4_k_m q4_0 q3_k_m q2_k ... ('vramcalc list formats'; default: the "
                   "model's native format)");
    app.add_option("--kv,--kv-cache-dtype", o.kv,
                   "KV-cache dtype (comma list to compare): fp32 fp16 bf16 fp8 (e4m3) fp8_e5m2 int8 int4 q8_0 q4_0 ... "
                   "(default: the model's dtype)");
    app.add_option("--ctx,--max-model-len", o.ctx,
                   "context per sequence in tokens, or a comma list: 8192, 32k, 128k, 1m (default: the model's maximum)");
    app.add_option("--batch", o.batch, "concurrent sequences, or a comma list (default 1)");
    app.add_option("--gpu", o.gpus, "GPU to fit on, e.g. h100 or 4xh100 (repeatable; default: every catalog GPU)")
        ->allow_extra_args(false)
        ->type_name("GPU");
    app.add_option("--gpu-mem", o.gpu_mem, "a GPU not in the catalog, by memory: 24GiB, 2x48GB");
    app.add_option("--overhead", o.overhead, "runtime overhead per GPU (default 1GiB)");
    app.add_option("--engine", o.engine, "generic (the model's own needs), vllm or llamacpp: what that engine allocates")
        ->check(CLI::IsMember({"generic", "vllm", "llamacpp", "llama.cpp"}));
    app.add_option("--tp,--tensor-parallel-size", o.tp, "tensor-parallel GPUs (default: chosen from the GPU count)");
    app.add_option("--pp,--pipeline-parallel-size", o.pp, "pipeline stages (default: chosen from the GPU count)");
    app.add_flag("--ep,--enable-expert-parallel", o.ep, "MoE: whole experts per GPU instead of sharded experts");
    app.add_option("--gpu-memory-utilization", o.gpu_memory_utilization,
                   "vLLM: share of GPU memory vLLM may use (default 0.92; 0.9 before v0.21)");
    app.add_option("--block-size", o.block_size, "vLLM: tokens per KV block (default 16; MLA 64 on Hopper, 128 on Blackwell)");
    app.add_option("--max-num-seqs", o.max_num_seqs, "vLLM: most concurrent sequences (default by GPU: 1024 or 256)");
    app.add_option("--max-num-batched-tokens", o.max_num_batched_tokens,
                   "vLLM: tokens per scheduler step (default by GPU: 8192 or 2048)");
    app.add_option("--kv-cache-memory", o.kv_cache_memory, "vLLM: the KV cache budget per GPU, instead of vLLM's profiling");
    app.add_option("--vllm-version", o.vllm_version, "vLLM: the release whose behaviour to model (default 0.21)");
    app.add_flag("--enforce-eager", o.enforce_eager, "vLLM: no CUDA graphs");
    app.add_option("--cache-type-k,--ctk,--kv-k", o.cache_type_k, "llama.cpp: K cache type (default: --kv, else f16)");
    app.add_option("--cache-type-v,--ctv,--kv-v", o.cache_type_v, "llama.cpp: V cache type (default: --kv, else f16)");
    app.add_option("--flash-attn,--fa", o.flash_attn, "llama.cpp: flash attention on, off or auto (default auto: on)");
    app.add_flag("--kv-unified", o.kv_unified, "llama.cpp: one KV cache shared by all sequences (llama-server without -np)");
    app.add_flag("--swa-full", o.swa_full, "llama.cpp: full-size caches for sliding-window layers");
    app.add_option("--batch-size", o.batch_size, "llama.cpp: logical batch, tokens (-b; default 2048)");
    app.add_option("--ubatch-size", o.ubatch_size, "llama.cpp: physical batch, tokens (-ub; default 512)");
    app.add_option("--n-gpu-layers,--ngl", o.n_gpu_layers, "llama.cpp: layers on the GPUs, counting the output (default all)");
    app.add_option("--n-cpu-moe", o.n_cpu_moe, "llama.cpp: keep the experts of the first N layers in system RAM");
    app.add_option("--tensor-split", o.tensor_split, "llama.cpp: share of layers per GPU, e.g. 3,1 (default: by memory)");
    app.add_option("--kv-policy", o.kv_policy,
                   "KV eviction: streaming:sinks=4,window=4096 (StreamingLLM), h2o:budget=2048 or h2o:ratio=0.2 (H2O)");
    app.add_flag("--max-ctx", o.max_ctx, "find the largest context that fits on the --gpu given");
    app.add_flag("--max-batch", o.max_batch, "find the most concurrent sequences that fit on the --gpu given");
    app.add_flag("--fit-quant", o.fit_quant, "find the best weight format (quality order of 'list formats') that fits");
    app.add_option("--models-dir", o.models_dirs, "also load the model spec files (*.json) below this directory")
        ->allow_extra_args(false)
        ->type_name("DIR");
    app.add_flag("--si", o.si, "print GB (10^9 bytes) instead of GiB (2^30)");
    app.add_flag("--json", o.json, "print the JSON document (docs/json-output.md)");
    app.add_option("--plot", o.plot, "also draw memory against context length into FILE.svg (a line per format / KV dtype)")
        ->type_name("FILE.svg");
    app.add_option("--bars", o.bars, "a memory bar per requested GPU: auto (on a terminal), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    app.add_option("--color", o.color, "colour: auto (a terminal, unless NO_COLOR is set), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
    CLI::App* list = app.add_subcommand(
        "list", "list the catalog: 'vramcalc list models', 'list gpus', 'list formats [MODEL]'");
    list->add_option("what", o.list_what, "models, gpus or formats");
    list->add_option("model", o.model, "for formats: the model to size them for (default llama3-8b)");
    list->fallthrough();
    CLI::App* plan = app.add_subcommand("plan", "the cheapest GPU configurations across the catalog for a workload");
    plan->add_option("model", o.model, "catalog id, model spec, config.json or model directory");
    plan->fallthrough();
    CLI::App* compare = app.add_subcommand("compare", "models side by side: vramcalc compare llama3-70b qwen2.5-72b");
    compare->add_option("models", o.compare_models, "two or more models");
    compare->fallthrough();
    CLI::App* check = app.add_subcommand(
        "check", "CI gate: do the deployments in these files fit? exit 0 all fit, 1 one does not, 2 invalid input");
    check->add_option("files", o.check_files, "deployment files (YAML or JSON; docs/ci.md)");
    check->add_option("--vllm", o.vllm_command, "a vLLM command line to check: \"vllm serve MODEL --max-model-len ...\"");
    check->add_option("--llama-server", o.llama_server_command,
                      "a llama-server command line to check: \"llama-server -m model.gguf -c 32768 ...\"");
    check->add_option("--headroom", o.headroom, "with --vllm / --llama-server: memory to keep free per GPU: 5% or 2GiB");
    check->fallthrough();
    app.add_option("--format", o.format, "output format: table, json, ndjson, csv, markdown; check also: junit, github")
        ->check(CLI::IsMember({"table", "json", "ndjson", "csv", "markdown", "junit", "github"}));
    CLI::App* inspect =
        app.add_subcommand("inspect", "what a model's files hold: vramcalc inspect model.gguf (or .safetensors, or a directory)");
    inspect->add_option("path", o.model, "a .gguf, .safetensors or .safetensors.index.json file, or a model directory");
    inspect->fallthrough();
    CLI::App* explain = app.add_subcommand(
        "explain", "the arithmetic step by step, numbers substituted: vramcalc explain llama3-70b --ctx 128k --kv fp8");
    explain->add_option("model", o.model, "catalog id, model spec, config.json, model file or directory");
    explain->fallthrough();
    app.footer(R"(Examples:
  vramcalc llama3-70b --ctx 128k --kv fp8          memory, and how many of each GPU it needs
  vramcalc llama3-70b -q q4_k_m --gpu 2x4090        does it fit on two RTX 4090?
  vramcalc mixtral-8x7b --ctx 32k --batch 8 --json  the same as JSON, for scripts
  vramcalc qwen2.5-7b --gpu-mem 24GiB               a GPU that is not in the catalog
  vramcalc llama3-70b --ctx 4k,32k,128k             KV cache by context length
  vramcalc llama3-70b -q fp32,bf16,int8,q4_k_m       the precision table (-q all: every format)
  vramcalc llama3-70b --gpu 2x4090 --max-ctx        the longest context two RTX 4090s hold
  vramcalc llama3-70b --gpu h100 --fit-quant        the best format that fits one H100
  vramcalc plan qwen2.5-72b --ctx 32k --batch 8     the cheapest GPUs for a workload
  vramcalc compare llama3-70b qwen2.5-72b --ctx 32k models side by side
  vramcalc llama3.1-8b --engine vllm --gpu 4090     what vLLM's start-up log will say
  vramcalc qwen3-30b-a3b --engine llamacpp -q q4_k_m --gpu 4090 --n-cpu-moe 24
                                                    llama.cpp's buffers, per GPU and in RAM
  vramcalc ./Llama-3.1-8B-Q4_K_M.gguf --gpu 4090   a model from its files: exact weights, its architecture
  vramcalc explain llama3-70b --ctx 128k --kv fp8  the arithmetic, step by step, to check by hand
  vramcalc inspect ./Qwen3-8B/                      what a model's files hold, by tensor group
  vramcalc check deploy.yaml --format github        CI gate: exit 1 when a deployment does not fit
  vramcalc check --vllm "vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 4" --gpu 4xh100
  vramcalc list models                              the built-in models (also: list gpus, list formats)

Sizes: 128k = 131,072 tokens; 80GB = 80*10^9 bytes, 80GiB = 80*2^30 bytes.
Exit status: 0 done (check: every deployment fits), 1 check: a deployment does not fit, 2 invalid input, 70 internal error, 74 the output could not be written (a full disk, a closed stdout).)");
    try {
      // llama.cpp's single-dash long flags, spelled as llama-server users type them.
      std::vector<std::string> args;
      for (int i = argc - 1; i >= 1; --i) {
        const std::string a = argv[i];
        if (a == "-ctk") args.emplace_back("--ctk");
        else if (a == "-ctv") args.emplace_back("--ctv");
        else if (a == "-ngl") args.emplace_back("--ngl");
        else if (a == "-fa") args.emplace_back("--fa");
        else if (a == "-ub") args.emplace_back("--ubatch-size");
        else if (a == "-ts") args.emplace_back("--tensor-split");
        else if (a == "-np") args.emplace_back("--batch");
        else args.push_back(a);
      }
      app.parse(args); // CLI11 takes them last first
    } catch (const CLI::CallForHelp&) {
      errno = 0;
      return write_all(stdout, app.help()) ? 0 : output_failed(errno);
    } catch (const CLI::CallForVersion& e) {
      errno = 0;
      return write_all(stdout, std::string(e.what()) + "\n") ? 0 : output_failed(errno);
    } catch (const CLI::ParseError& e) {
      return fail({vramcalc::ErrorCode::invalid_argument, parse_error_message(e)}, json);
    }
    o.list = list->parsed();
    o.plan = plan->parsed();
    o.compare = compare->parsed();
    o.inspect = inspect->parsed();
    o.explain = explain->parsed();
    o.check = check->parsed();
    const vramcalc::cli::Outcome outcome = vramcalc::cli::run(o);
    errno = 0;
    if (!write_all(stdout, outcome.out)) return output_failed(errno);
    return outcome.exit_code;
  } catch (const vramcalc::cli::CliError& e) {
    return fail(e.error, json);
  } catch (const std::exception& e) {
    const std::string m = "vramcalc: internal error: " + vramcalc::excerpt(e.what(), max_message_bytes) + "\n";
    return write_all(stderr, m) ? 70 : exit_output_failed;
  }
}
