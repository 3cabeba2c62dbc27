// mmproj compute-buffer probe: clip_init() of llama.cpp's tools/mtmd (compiled from the same source
// as the prebuilt libggml of node-llama-cpp 3.21.1), CPU backend, warmup on, explicit flash attention.
// Prints: file fa weights_bytes compute_bytes  (compute = clip_get_mem_usage(warmup) - clip_get_mem_usage(no warmup))
#include "clip.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
static bool g_quiet = true;
static void logcb(ggml_log_level, const char * t, void *) { if (!g_quiet) fputs(t, stderr); }
static size_t total(const char * f, int fa, bool warm) {
    clip_context_params p{};
    p.use_gpu = false; p.device = nullptr;
    p.flash_attn_type = fa ? CLIP_FLASH_ATTN_TYPE_ENABLED : CLIP_FLASH_ATTN_TYPE_DISABLED;
    p.image_min_tokens = 0; p.image_max_tokens = 0; p.warmup = warm;
    auto r = clip_init(f, p);
    if (!r.ctx_v) { fprintf(stderr, "clip_init failed\n"); exit(1); }
    size_t s = 0;
    for (auto & [d, b] : clip_get_mem_usage(r.ctx_v)) s += b;
    clip_free(r.ctx_v);
    return s;
}
int main(int argc, char ** argv) {
    if (argc < 3) { fprintf(stderr, "usage: probe FILE.gguf FA(0/1)\n"); return 2; }
    g_quiet = getenv("PROBE_VERBOSE") == nullptr;
    ggml_log_set(logcb, nullptr);
    const char * bindir = getenv("LLAMA_BIN_DIR");
    if (bindir) ggml_backend_load_all_from_path(bindir); else ggml_backend_load_all();
    int fa = atoi(argv[2]);
    size_t w = total(argv[1], fa, false);
    size_t a = total(argv[1], fa, true);
    printf("%s fa=%d weights=%zu compute=%zu\n", argv[1], fa, w, a - w);
}
