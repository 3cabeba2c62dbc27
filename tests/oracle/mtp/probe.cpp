// The MTP probe: what the real llama.cpp (the oracle's build: node-llama-cpp 3.21.1's prebuilt
// CPU libraries, headers of the same version) allocates for a GGUF with NextN/MTP layers, with
// and without them loaded, and for llama-server's MTP draft context (--spec-type draft-mtp:
// common/speculative.cpp common_speculative_init_result: ctx_type MTP, the target's n_ctx,
// n_seq_max and batch, n_outputs_max = n_parallel, n_rs_seq 0, ctx_other = the target).
//
//   usage: probe MODEL.gguf LOAD_MTP(0/1) N_CTX N_SEQ FA(0/1) N_UBATCH N_OUTPUTS_MAX KV_UNIFIED(0/1)
//   prints one line per context: model / context (KV) / compute bytes summed over buffer types.
#include "llama.h"
#include "ggml-backend.h"

#include <cstdio>
#include <cstdlib>
#include <map>

struct llama_memory_breakdown_data {
    size_t model = 0;
    size_t context = 0;
    size_t compute = 0;
};
using llama_memory_breakdown = std::map<ggml_backend_buffer_type_t, llama_memory_breakdown_data>;
LLAMA_API llama_memory_breakdown llama_get_memory_breakdown(const struct llama_context * ctx);

static void log_cb(ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_WARN || getenv("PROBE_VERBOSE")) fputs(text, stderr);
}

static void report(const char * what, llama_context * ctx) {
    size_t m = 0, c = 0, k = 0;
    for (const auto & [buft, b] : llama_get_memory_breakdown(ctx)) {
        m += b.model;
        c += b.context;
        k += b.compute;
    }
    printf("%s n_ctx=%u n_seq=%u model=%zu context=%zu compute=%zu\n", what, llama_n_ctx(ctx), llama_n_seq_max(ctx), m, c, k);
}

int main(int argc, char ** argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: %s MODEL LOAD_MTP N_CTX N_SEQ FA N_UBATCH N_OUTPUTS_MAX KV_UNIFIED [DRAFTER]\n", argv[0]);
        return 2;
    }
    llama_log_set(log_cb, nullptr);
    const char * bindir = getenv("LLAMA_BIN_DIR");
    if (bindir) ggml_backend_load_all_from_path(bindir); else ggml_backend_load_all();
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.use_extra_bufts = false;
    mp.load_mode = LLAMA_LOAD_MODE_NONE; // read into a buffer: only the tensors loaded take bytes
    mp.load_mtp = atoi(argv[2]) != 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) return 1;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) atoi(argv[3]);
    cp.n_seq_max = (uint32_t) atoi(argv[4]);
    cp.flash_attn_type = atoi(argv[5]) ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.n_batch = cp.n_ubatch = (uint32_t) atoi(argv[6]);
    cp.n_outputs_max = (uint32_t) atoi(argv[7]);
    cp.kv_unified = atoi(argv[8]) != 0;
    llama_context * tgt = llama_init_from_model(model, cp);
    if (!tgt) return 1;
    printf("model_size=%llu\n", (unsigned long long) llama_model_size(model));
    report("target", tgt);
    // DRAFTER (--spec-draft-model under draft-mtp): an MTP drafter GGUF loaded as a model of its
    // own with load_mtp, its MTP context made as above against the target's context.
    llama_model * drafter = nullptr;
    if (argc > 9) {
        drafter = llama_model_load_from_file(argv[9], mp);
        if (!drafter) return 1;
        printf("drafter_size=%llu\n", (unsigned long long) llama_model_size(drafter));
    }
    if (mp.load_mtp) {
        llama_context_params dp = cp;
        dp.ctx_type = LLAMA_CONTEXT_TYPE_MTP;
        dp.n_ctx = llama_n_ctx(tgt);
        dp.n_rs_seq = 0;
        dp.n_outputs_max = cp.n_seq_max;
        dp.n_outputs_max_per_seq = 1;
        dp.ctx_other = tgt;
        llama_context * mtp = llama_init_from_model(drafter ? drafter : model, dp);
        if (!mtp) return 1;
        report("mtp", mtp);
        llama_free(mtp);
    }
    llama_free(tgt);
    if (drafter) llama_model_free(drafter);
    llama_model_free(model);
    return 0;
}
