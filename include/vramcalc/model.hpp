// The architecture of a model, as the memory math needs it.
//
// A ModelSpec is what every input (catalog JSON, Hugging Face config, GGUF header)
// becomes. Per-layer facts (attention kind, window, MoE or dense MLP) live in `layers`,
// expanded once at load time, so the math is a plain sum over layers.
#pragma once

#include "vramcalc/dtype.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vramcalc {

// What a layer keeps per token of context.
enum class AttentionKind : std::uint8_t {
  full,    // every token of the context
  sliding, // the last `window` tokens (Mistral, Gemma local layers, gpt-oss)
  chunked, // tokens of the current chunk of `window` tokens (Llama 4 local layers)
  none,    // no KV: recurrent / linear-attention layers keep a fixed state instead
};

[[nodiscard]] std::string_view attention_kind_name(AttentionKind k);

enum class NormKind : std::uint8_t { rmsnorm, layernorm };
enum class MlpKind : std::uint8_t { gated, plain }; // gated: gate+up+down (SwiGLU); plain: up+down

// Multi-head latent attention (DeepSeek V2/V3, Kimi K2): the cache holds one compressed
// latent of kv_lora_rank + qk_rope_head_dim elements per token per layer.
struct MlaSpec {
  std::uint64_t q_lora_rank = 0; // 0: no query compression (DeepSeek-V2-Lite)
  std::uint64_t kv_lora_rank = 0;
  std::uint64_t qk_nope_head_dim = 0;
  std::uint64_t qk_rope_head_dim = 0;
  std::uint64_t v_head_dim = 0;
  // Whether the cache holds the compressed latent (kv_lora_rank + rope per token and layer).
  // false: a GGUF converted before llama.cpp's MLA metadata (no attention.key_length_mla /
  // value_length_mla, convert_hf_to_gguf.py before PR #12801), which llama.cpp runs without
  // its MLA path (llama_hparams::is_mla() false): K and V cached per head, about 71x the latent
  // for DeepSeek-V3 (docs/file-formats.md).
  bool latent_cache = true;
};

struct AttentionSpec {
  std::uint64_t num_heads = 0;
  std::uint64_t num_kv_heads = 0;
  std::uint64_t head_dim = 0;   // query/key head size (may differ from hidden / heads)
  std::uint64_t v_head_dim = 0; // value head size (equal to head_dim unless stated)
  bool qkv_bias = false;
  bool o_bias = false;
  bool qk_norm = false;         // per-head RMSNorm on q and k (Qwen3, Gemma 3)
  bool sinks = false;           // learned per-head attention sink logits (gpt-oss)
  bool output_gate = false;     // q_proj also yields a per-head output gate (Qwen3-Next)
  bool fused_qkv = false;       // one attn_qkv matrix instead of q, k, v (Phi-3, Falcon, GPT-NeoX, ...)
  std::uint64_t sliding_window = 0; // window of sliding layers, tokens
  std::uint64_t chunk_size = 0;     // chunk of chunked-local layers, tokens
  std::optional<MlaSpec> mla;
  // Full-attention layers with their own shape (Gemma 4): their query, key and value head
  // size and their KV heads (0: the model's head_dim / num_kv_heads), and whether one
  // projection serves as keys and values there (attention_k_eq_v: no v_proj; the cache still
  // holds K and V, which differ by their norms and RoPE).
  std::uint64_t global_head_dim = 0;
  std::uint64_t global_num_kv_heads = 0;
  bool global_k_eq_v = false;
};

struct MoeSpec {
  std::uint64_t num_experts = 0;        // routed experts per MoE layer
  std::uint64_t experts_per_token = 0;  // routed experts active per token
  std::uint64_t shared_experts = 0;     // always-active experts
  std::uint64_t expert_intermediate_size = 0;
  std::uint64_t shared_intermediate_size = 0; // per shared expert
  std::uint64_t first_dense_layers = 0;       // layers [0, k) keep a dense MLP
  std::uint64_t layer_step = 1;               // MoE on layers with i % step == offset
  std::uint64_t layer_offset = 0;
  bool router_bias = false;                   // a bias per expert on the router (gpt-oss, DeepSeek V3)
  bool expert_bias = false;                   // biases on expert projections (gpt-oss)
  bool shared_expert_gate = false;            // a sigmoid gate [hidden -> 1] on the shared expert (Qwen2-MoE)
  // Gemma 4's MoE block: the layer's dense MLP (intermediate_size) runs beside the experts,
  // with three more norms (post_ffw_norm_1, pre_ffw_norm_2, post_ffw_norm_2), a scale on the
  // router's input [hidden] and one per expert on its output [experts].
  bool dense_mlp_beside = false;
};

// Recurrent / linear-attention mixers: a fixed state per sequence instead of a KV cache.
enum class RecurrentKind : std::uint8_t {
  mamba,          // Mamba-1 selective SSM (Jamba)
  mamba2,         // Mamba-2 SSD (Mamba2, Nemotron-H)
  gated_deltanet, // Gated DeltaNet linear attention (Qwen3-Next)
  kda,            // Kimi Delta Attention (Kimi-Linear): gated delta rule with a per-channel forget gate
};

[[nodiscard]] std::string_view recurrent_kind_name(RecurrentKind k);

struct RecurrentSpec {
  RecurrentKind kind = RecurrentKind::mamba2;
  std::optional<Dtype> state_dtype; // unset: the model's dtype
  std::uint64_t d_inner = 0;        // mamba / mamba2: expand x hidden
  std::uint64_t d_state = 0;        // mamba / mamba2: SSM state size
  std::uint64_t d_conv = 0;         // causal conv kernel width
  std::uint64_t dt_rank = 0;        // mamba: rank of the dt projection
  std::uint64_t n_groups = 1;       // mamba2: B/C groups
  std::uint64_t num_heads = 0;      // mamba2: SSM heads; gated_deltanet: value heads; kda: heads
  std::uint64_t head_dim = 0;       // mamba2: head size (d_inner / num_heads); kda: head size
  std::uint64_t num_k_heads = 0;    // gated_deltanet: key heads
  std::uint64_t head_k_dim = 0;     // gated_deltanet
  std::uint64_t head_v_dim = 0;     // gated_deltanet
  bool conv_bias = true;
  bool dt_norms = false;            // Jamba: RMSNorms on dt, B and C
};

struct LayerSpec {
  AttentionKind attention = AttentionKind::full;
  std::uint64_t window = 0;        // tokens, for sliding / chunked
  std::uint64_t num_kv_heads = 0;  // this layer's KV heads
  std::uint64_t head_dim_k = 0;
  std::uint64_t head_dim_v = 0;
  bool moe = false;                // MLP is a mixture of experts
  bool has_mixer = true;           // attention, or the recurrent mixer when attention is none
  bool has_mlp = true;             // Nemotron-H / Mamba2 layers carry a mixer or an MLP, not both
  std::uint64_t head_dim_q = 0;    // this layer's query head size (0: the model's head_dim; Gemma 4's global layers)
  bool k_eq_v = false;             // no v_proj: the key projection also yields the values (Gemma 4's global layers)
};

struct OfficialParams {
  std::uint64_t total = 0;
  std::uint64_t active = 0; // 0 when not stated (dense models: equals total)
  std::string source;
  bool includes_vision = false; // the figure counts the vision tower
  bool includes_mtp = false;    // the figure counts the multi-token-prediction layers
  bool total_excludes_embeddings = false;  // a "non-embedding" total (no token embedding, no head)
  bool active_excludes_embedding = false;  // the active figure leaves out the input embedding lookup
  std::uint64_t precision = 0;  // the step of a rounded figure ("37B": 1e9); 0 when exact
};

// The most decoder layers a loader accepts (model spec, config.json, GGUF). The largest
// model in the catalog has 126; every estimate walks each layer and its tensors for every
// GPU layout it tries, so this bounds what one estimate costs (65,536 layers took seconds
// per estimate, minutes per sweep: docs/reliability.md, "Bounded work").
inline constexpr std::uint64_t max_model_layers = 4096;

// A checkpoint of the model that people load by its hub name, when it differs from the
// model's defaults: its own storage format (a quantized upload) or its own maximum context
// (an Instruct config may give less than the base model's).
struct Checkpoint {
  std::string repo;                          // "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"
  std::optional<std::string> weights_format; // unset: the model's own
  std::vector<std::string> unquantized;      // with weights_format: the modules its quantization leaves out (set_unquantized)
  std::uint64_t max_context = 0;             // 0: the model's
  std::string source;                        // where the facts were read (its config.json)
};

// What an engine's profiling of the vision encoder needs, for one image at the largest size
// the processor makes (docs/engines.md, "Multimodal encoders"; docs/model-format.md).
struct EncoderProfile {
  std::uint64_t max_tokens_per_item = 0; // t: placeholder tokens of one image in the prompt (incl. start/end/break tokens)
  std::uint64_t embeds_per_item = 0;     // e: embeddings the encoder returns for it
  std::uint64_t output_width = 0;        // d_out: width of each (the LM hidden size; Qwen3-VL: out_hidden_size x 4)
  bool video = false;                    // the encoder also takes video (not modelled: its limit must be 0 to disable it)
};

// How the model's image processor turns an image of W x H pixels into placeholder tokens
// (docs/engines.md, "Images per request"; docs/model-format.md `vision.image_processor`):
// the rule of its kind and the facts of its preprocessor_config.json.
enum class ImageProcessorKind : std::uint8_t {
  qwen2_vl, // transformers Qwen2VLImageProcessor smart_resize (Qwen2-VL, Qwen2.5-VL, Qwen3-VL)
  pixtral,  // PixtralImageProcessor as vLLM's mistral3.py counts it (Mistral Small 3.1, Magistral)
  fixed,    // every image resized to one square size, a fixed count of tokens (Gemma 3, pan-and-scan off)
  internvl, // InternVL's dynamic tiles: the closest grid of at most max_tiles squares, a thumbnail, tokens per tile
  llama4,   // Llama 4: the best-fit canvas of at most max_tiles 336 px tiles, a global tile, separators
};

struct ImageProcessor {
  ImageProcessorKind kind = ImageProcessorKind::fixed;
  std::uint64_t patch = 0;        // qwen2_vl, pixtral: patch_size in pixels
  std::uint64_t merge = 1;        // qwen2_vl: merge_size; pixtral: spatial_merge_size
  std::uint64_t min_pixels = 0;   // qwen2_vl: min_pixels (size.shortest_edge)
  std::uint64_t max_pixels = 0;   // qwen2_vl: max_pixels (size.longest_edge)
  std::uint64_t longest_edge = 0; // pixtral: the longest side (size.longest_edge); fixed: the side of every image;
                                  // internvl, llama4: the side of a tile
  std::uint64_t tokens = 0;       // fixed: the placeholder tokens of every image; internvl, llama4: of every tile
  std::uint64_t min_tiles = 1, max_tiles = 1; // internvl: min / max_dynamic_patch (1, 1 without dynamic_image_size); llama4: max_patches
  bool thumbnail = false;         // internvl: use_thumbnail (one more tile when the grid has more than one)
  std::string source;             // where these were read
};

// The vision tower as llama.cpp's clip.cpp builds it from the mmproj file, for the compute buffer
// its warmup reserves (docs/engines.md, "Vision projector"): the projector type
// (clip.projector_type; only "gemma3" is measured) and the tower at the warmup image.
struct ClipTower {
  std::string projector;          // clip.projector_type
  std::uint64_t patches = 0;      // n: (image_size / patch_size)^2 at the warmup image
  std::uint64_t heads = 0;        // clip.vision.attention.head_count
  std::uint64_t width = 0;        // clip.vision.embedding_length
  std::uint64_t ffn_width = 0;    // clip.vision.feed_forward_length
  std::string source;             // where these were read
  std::uint64_t patch_size = 0;   // clip.vision.patch_size (the warmup image is patches x patch_size^2 x 3 f32 pixels)
  std::uint64_t blocks = 0;       // clip.vision.block_count (0: not given)
  std::uint64_t deepstack_kept = 0; // qwen3vl: DeepStack layers before the last two blocks (their outputs stay live)
  std::uint64_t projection_width = 0; // pixtral: the projector's output width (its [IMG_BREAK] rows); qwen3vl: its DeepStack features
  std::uint64_t deepstack_before_last = 0; // qwen3vl: DeepStack layers before the last block (live in a later block's MLP)
  bool qk_norm = false;           // internvl: InternViT-6B's q / k RMSNorms (v.blk.N.attn_q_norm), a layout of its own
};

struct ModelSpec {
  std::string id;      // catalog id, lowercase ("llama3-70b")
  std::string name;    // display name
  std::string family;
  std::string arch;    // architecture as llama.cpp / GGUF names it ("llama", "qwen2", "deepseek2")
  std::vector<std::string> aliases;
  std::vector<Checkpoint> checkpoints; // also names of the model
  std::string source;  // URL of the config the numbers come from
  std::string origin;  // where this spec was loaded from (file name), for messages
  std::vector<std::string> notes;   // printed under every estimate
  std::vector<std::string> remarks; // for maintainers: how the numbers were derived

  std::uint64_t hidden_size = 0;
  std::uint64_t num_layers = 0;         // 1 .. max_model_layers
  std::uint64_t intermediate_size = 0; // dense MLP
  std::uint64_t vocab_size = 0;
  bool tie_word_embeddings = false;
  Dtype dtype = Dtype::bf16;            // native compute dtype (default weights and KV)
  std::optional<std::string> weights_format; // default weight format when the checkpoint ships quantized
  std::vector<std::string> unquantized;      // the modules that format leaves out (set_unquantized names)
  std::uint64_t max_context = 0;
  NormKind norm = NormKind::rmsnorm;
  bool norm_bias = false;      // layernorm with a bias vector
  MlpKind mlp = MlpKind::gated;
  bool mlp_bias = false;
  std::uint64_t norms_per_layer = 2;    // Gemma 2/3 have 4 (pre/post attention and MLP)
  bool separate_mlp = false;            // layers hold a mixer or an MLP, not both (Nemotron-H, Mamba2)
  bool fused_gate_up = false;           // a gated MLP's gate and up in one ffn_up of 2 x intermediate rows (Phi-3)

  AttentionSpec attention;
  std::optional<MoeSpec> moe;
  std::optional<RecurrentSpec> recurrent; // mixer of the layers whose attention is `none`
  std::uint64_t mtp_layers = 0;           // multi-token-prediction blocks (DeepSeek V3, GLM-4.5)
  bool mtp_own_embeddings = true;         // each MTP block stores copies of the embedding and head
  std::uint64_t draft_vocab_size = 0;     // an EAGLE-3 head's draft_vocab_size (config.json; 0: none given)
  std::uint64_t vision_params = 0;        // vision tower shipped in the checkpoint
  std::string vision_source;
  std::optional<EncoderProfile> vision_profile; // what profiling its encoder needs (unset: not modelled)
  std::optional<ClipTower> vision_clip;         // llama.cpp's clip graph facts (unset: its compute buffer not counted)
  std::optional<ImageProcessor> image_processor; // tokens per image at a size (unset: only t is known)
  std::vector<LayerSpec> layers;        // size num_layers

  std::optional<OfficialParams> official;

  // Tokenizer, for the size of a GGUF file's metadata: SentencePiece (scores) or byte-level
  // BPE (merges). Unset: guessed from the vocabulary.
  std::optional<bool> tokenizer_spm;
  std::uint64_t tokenizer_merges = 0; // 0: about one merge per token

  bool layer_scalar = false; // one learned scalar per layer on its output (Gemma 4's layer_scalar)
};

// A layer of a pattern: its attention kind, and whether it is an MLP-only layer.
struct LayerKind {
  AttentionKind attention = AttentionKind::full;
  bool mlp_only = false;
};

// Fills spec.layers from the spec's defaults and a per-layer pattern: `pattern[i % size]`
// gives each layer's kind (empty: all full attention). MoE placement from spec.moe.
void expand_layers(ModelSpec& spec, const std::vector<LayerKind>& pattern);

// The tensor layout llama.cpp's converter writes for an architecture (and Hugging Face ships):
// a fused attn_qkv for Phi-3, Falcon, GPT-NeoX, BLOOM, MPT, GPT-2, StarCoder, Qwen (1), DBRX,
// ...; Phi-3's gated MLP in one ffn_up. Sets spec.attention.fused_qkv and spec.fused_gate_up
// from spec.arch's row of the architecture table (architecture.hpp); a file's own tensors
// override this where they are known.
void apply_arch_layout(ModelSpec& spec);

// Short description of the attention layout: "full", "5 sliding(1024) : 1 full", "MLA".
[[nodiscard]] std::string attention_summary(const ModelSpec& spec);

} // namespace vramcalc
