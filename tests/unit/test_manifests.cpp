// Kubernetes objects, Compose files and vLLM configs read as deployments (src/io/manifests.cpp):
// what each field gives, from text, without the disk.
#include "deployments.hpp"

#include "vramcalc/io/catalog.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vramcalc;
using namespace vramcalc::io;

namespace {

const GpuLabels& labels() {
  static const Catalog c = load_builtin_catalog().value();
  return c.gpu_labels;
}

std::string key(const Deployment& d, const std::string& k) {
  const auto it = d.keys.find(k);
  return it == d.keys.end() ? "-" : it->second.text;
}

DeploymentFile read(const std::string& text) { return read_deployments(text, "m.yaml", &labels()); }

} // namespace

TEST_CASE("gpu-labels.json: feature-discovery products, cloud labels and instance types name catalog GPUs") {
  const GpuLabels& l = labels();
  REQUIRE(l.gpu_of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3") != nullptr);
  CHECK(*l.gpu_of("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3") == "h100-sxm");
  CHECK(*l.gpu_of("cloud.google.com/gke-accelerator", "nvidia-l4") == "l4");
  CHECK(*l.gpu_of("node.kubernetes.io/instance-type", "p5.48xlarge") == "h100-sxm");
  CHECK(l.instance_types.at("p5.48xlarge").second == 8); // 8x H100 per p5.48xlarge
  CHECK(l.gpu_of("nvidia.com/gpu.product", "NVIDIA-Unknown") == nullptr);
  CHECK(l.gpu_of("kubernetes.io/hostname", "p5.48xlarge") == nullptr); // not an instance-type key
}

TEST_CASE("a Deployment: the command with $(VAR) from env, the GPUs from limits, the type from the node selector") {
  const DeploymentFile f = read(R"y(apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: prod}
spec:
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-L40S}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.10.2
          command: ["python3", "-m", "vllm.entrypoints.openai.api_server"]
          args: ["--model", "$(MODEL)", "-tp", "2", "--max_model_len", "$(LEN)", "--port", "$$(PORT)"]
          env:
            - {name: MODEL, value: Qwen/Qwen2.5-14B-Instruct}
            - {name: LEN, value: "32768"}
          resources: {limits: {nvidia.com/gpu: 2}}
        - name: metrics
          image: prom/exporter
)y");
  REQUIRE(f.errors.empty());
  REQUIRE(f.deployments.size() == 1);
  const Deployment& d = f.deployments[0];
  CHECK(d.name == "Deployment/prod/chat/vllm");
  CHECK(d.kind == "Deployment");
  CHECK(d.line == 9);
  CHECK(d.path == "spec.template.spec.containers[0]");
  CHECK(key(d, "model") == "Qwen/Qwen2.5-14B-Instruct");
  CHECK(key(d, "context") == "32768"); // --max_model_len is --max-model-len to vLLM
  CHECK(key(d, "tp") == "2");
  CHECK(key(d, "gpu") == "2xl40s");
  CHECK(d.gpu_count == 2);
  CHECK(d.engine_options.at("version").text == "0.10.2");
  CHECK(f.skipped.empty()); // the sidecar without a GPU is not a workload of its own
}

TEST_CASE("a LeaderWorkerSet: the leader's sh -c script, ${VAR} from env, GPUs x the group's size") {
  const DeploymentFile f = read(R"y(apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: r1}
spec:
  leaderWorkerTemplate:
    size: 4
    leaderTemplate:
      spec:
        nodeSelector: {node.kubernetes.io/instance-type: p5.48xlarge}
        containers:
          - name: leader
            image: vllm/vllm-openai:latest
            env: [{name: M, value: deepseek-ai/DeepSeek-R1}]
            command: ["/bin/bash", "-ec", "ray start --head && exec vllm serve ${M} -tp 8 -pp 4 --port 8080; sleep 1"]
            resources: {limits: {nvidia.com/gpu: "8"}}
)y");
  REQUIRE(f.errors.empty());
  REQUIRE(f.deployments.size() == 1);
  const Deployment& d = f.deployments[0];
  CHECK(key(d, "model") == "deepseek-ai/DeepSeek-R1");
  CHECK(key(d, "gpu") == "32xh100-sxm"); // 8 GPUs per pod x 4 pods
  CHECK(d.gpu_count == 32);
  CHECK(!d.engine_options.contains("version")); // "latest" names no release
}

TEST_CASE("annotations: vramcalc/gpu gives the type (the count stays the pod's), vramcalc/skip leaves it out") {
  const DeploymentFile f = read(R"y(apiVersion: v1
kind: Pod
metadata:
  name: a
  annotations: {vramcalc/gpu: a100-80gb-sxm, vramcalc/headroom: 10%}
spec:
  containers:
    - name: s
      image: ghcr.io/ggml-org/llama.cpp:server-cuda
      args: ["-m", "/models/x.gguf", "-c", "8192"]
      resources: {limits: {nvidia.com/gpu: 2}}
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  annotations: {vramcalc/skip: "true"}
spec:
  containers:
    - {name: s, image: vllm/vllm-openai:v0.11.0, args: [llama3-8b], resources: {limits: {nvidia.com/gpu: 1}}}
)y");
  REQUIRE(f.errors.empty());
  REQUIRE(f.deployments.size() == 1);
  CHECK(key(f.deployments[0], "gpu") == "2xa100-80gb-sxm");
  CHECK(key(f.deployments[0], "headroom") == "10%");
  CHECK(key(f.deployments[0], "engine") == "llamacpp"); // the image's entrypoint is llama-server
  REQUIRE(f.skipped.size() == 1);
  CHECK(f.skipped[0].name == "Pod/default/b/s");
  CHECK(f.skipped[0].reason == "annotation vramcalc/skip");
}

TEST_CASE("manifests: what is not a GPU workload is skipped, never failed, and what cannot be read is an error") {
  const DeploymentFile f = read(R"y(apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sg}
spec:
  template:
    spec:
      containers:
        - {name: s, image: lmsysorg/sglang:v0.5.2, command: [python3, -m, sglang.launch_server, --model-path, x],
           resources: {limits: {nvidia.com/gpu: 1}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  template:
    spec:
      containers:
        - {name: v, image: vllm/vllm-openai:v0.11.0, args: [llama3-70b, -tp, "8"], resources: {limits: {nvidia.com/gpu: 4}}}
)y");
  REQUIRE(f.skipped.size() == 1);
  CHECK(f.skipped[0].kind == "ConfigMap");
  CHECK(!f.skipped[0].workload);
  // SGLang's command line is read like vLLM's (test_engine_commands.cpp).
  REQUIRE(f.deployments.size() == 1);
  CHECK(f.deployments[0].name == "Deployment/default/sg/s");
  CHECK(key(f.deployments[0], "engine") == "sglang");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].line == 23);
  CHECK(f.errors[0].message.find("vLLM uses tp x pp = 8 GPUs, the pod has 4") != std::string::npos);
}

TEST_CASE("compose services and vLLM configs") {
  const DeploymentFile compose = read(R"y(services:
  v:
    image: vllm/vllm-openai:v0.9.2
    command: --model Qwen/Qwen2.5-7B-Instruct --max-model-len 8192
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
  w:
    image: nginx
)y");
  REQUIRE(compose.errors.empty());
  REQUIRE(compose.deployments.size() == 1);
  CHECK(compose.deployments[0].name == "compose/v");
  CHECK(compose.deployments[0].gpu_count == 1); // 2 reserved, but vLLM without -tp uses one
  CHECK(compose.deployments[0].notes.at(1) == "the service holds 2 GPUs; vLLM uses tp x pp = 1");
  CHECK(!compose.deployments[0].keys.contains("gpu")); // the type: --gpu or the label vramcalc/gpu
  CHECK(compose.skipped.size() == 1);

  const DeploymentFile config = read("model: llama3.1-8b\ntensor-parallel-size: 2\nmax_model_len: 4096\nenforce-eager: true\n");
  REQUIRE(config.errors.empty());
  REQUIRE(config.deployments.size() == 1);
  const Deployment& d = config.deployments[0];
  CHECK(d.kind == "vLLM config");
  CHECK(d.gpu_count == 2); // vLLM's tp x pp
  CHECK(key(d, "context") == "4096");
  CHECK(d.engine_options.at("enforce_eager").text == "true");
}

TEST_CASE("manifests: SGLang, trtllm-serve and Ollama containers are read as their engines") {
  const DeploymentFile f = read(R"y(apiVersion: apps/v1
kind: Deployment
metadata: {name: sg}
spec:
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
      containers:
        - name: s
          image: lmsysorg/sglang:v0.5.2-cu126
          command: [python3, -m, sglang.launch_server]
          args: [--model-path, meta-llama/Llama-3.1-70B-Instruct, --tp, "4", --dp-size, "2", --mem-fraction-static, "0.85"]
          resources: {limits: {nvidia.com/gpu: 8}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: trt}
spec:
  template:
    spec:
      containers:
        - name: t
          image: nvcr.io/nvidia/tensorrt-llm/release:1.1.0
          command: [sh, -c, "trtllm-serve meta-llama/Llama-3.1-8B-Instruct --tp_size 4 --extra_llm_api_options /config/extra.yaml"]
          resources: {limits: {nvidia.com/gpu: 2}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ol
  annotations: {vramcalc/model: "gpt-oss:20b"}
spec:
  template:
    spec:
      containers:
        - name: o
          image: ollama/ollama:0.12.4
          env:
            - {name: OLLAMA_CONTEXT_LENGTH, value: "16384"}
            - {name: OLLAMA_NUM_PARALLEL, valueFrom: {configMapKeyRef: {name: c, key: p}}}
            - {name: HOME, value: /root}
          resources: {limits: {nvidia.com/gpu: 1}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ol2}
spec:
  template:
    spec:
      containers:
        - {name: o, image: ollama/ollama, resources: {limits: {nvidia.com/gpu: 1}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ol3}
spec:
  template:
    spec:
      containers:
        - name: o
          image: ollama/ollama
          command: [/bin/sh, -c, "ollama serve & sleep 5 && ollama pull llama3:70b && wait"]
          resources: {limits: {nvidia.com/gpu: 2}}
)y");
  // trtllm-serve's tp 4 on a pod of 2 GPUs is an error, as vLLM's is.
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].message.find("TensorRT-LLM uses tp x pp = 4 GPUs, the pod has 2") != std::string::npos);
  REQUIRE(f.deployments.size() == 3);
  const Deployment& s = f.deployments[0];
  CHECK(s.name == "Deployment/default/sg/s");
  CHECK(key(s, "engine") == "sglang");
  CHECK(key(s, "tp") == "4");
  CHECK(s.data_parallel == 2);
  CHECK(key(s, "gpu") == "4xh100-sxm"); // each replica's tp x pp of the pod's 8
  CHECK(s.gpu_count == 4);
  CHECK(std::find(s.notes.begin(), s.notes.end(), "the pod holds 8 GPUs; SGLang uses tp x pp x dp = 8") != s.notes.end());
  const Deployment& o = f.deployments[1];
  CHECK(o.name == "Deployment/default/ol/o");
  CHECK(key(o, "engine") == "ollama");
  CHECK(key(o, "model") == "gpt-oss:20b");
  CHECK(o.engine_options.at("env").text == "OLLAMA_CONTEXT_LENGTH=16384"); // HOME is not Ollama's
  CHECK(o.ignored == std::vector<std::string>{"OLLAMA_NUM_PARALLEL (set from a ConfigMap, Secret or field: not read)"});
  const Deployment& o3 = f.deployments[2];
  CHECK(key(o3, "model") == "llama3:70b");
  CHECK(o3.gpu_count == 2);
  // No model anywhere: skipped with the reason and the way to name one.
  REQUIRE(f.skipped.size() == 1);
  CHECK(f.skipped[0].name == "Deployment/default/ol2/o");
  CHECK(f.skipped[0].reason.find("annotation vramcalc/model") != std::string::npos);

  // A postStart hook's `ollama pull` names the model of an image that only serves.
  const DeploymentFile hook = read(R"y(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: o
      image: ollama/ollama
      lifecycle: {postStart: {exec: {command: [/bin/sh, -c, "sleep 5 && ollama pull llama3:70b"]}}}
      resources: {limits: {nvidia.com/gpu: 2}}
)y");
  REQUIRE(hook.deployments.size() == 1);
  CHECK(key(hook.deployments[0], "model") == "llama3:70b");
  CHECK(hook.deployments[0].ignored.empty());

  // The extra options file of a manifest is inside the container: listed, not read.
  const DeploymentFile t = read(R"y(services:
  trt:
    image: nvcr.io/nvidia/tensorrt-llm/release:1.1.0
    command: [trtllm-serve, meta-llama/Llama-3.1-8B-Instruct, --tp_size, "2", --extra_llm_api_options, /config/extra.yaml]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 2, capabilities: [gpu]}]}}}
  sg:
    image: lmsysorg/sglang:latest
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}
  ol:
    image: ollama/ollama
    command: [run, "llama3:70b"]
    environment: {OLLAMA_NUM_PARALLEL: "4", PATH: /usr/bin}
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}
)y");
  REQUIRE(t.errors.empty());
  REQUIRE(t.deployments.size() == 2);
  // A Compose service's environment (a mapping here, K=V items too) is Ollama's server's.
  CHECK(key(t.deployments[1], "model") == "llama3:70b");
  CHECK(t.deployments[1].engine_options.at("env").text == "OLLAMA_NUM_PARALLEL=4");
  CHECK(key(t.deployments[0], "engine") == "trtllm");
  CHECK(t.deployments[0].ignored ==
        std::vector<std::string>{"--extra_llm_api_options /config/extra.yaml (a file inside the container: not read)"});
  REQUIRE(t.skipped.size() == 1);
  CHECK(t.skipped[0].reason == "image lmsysorg/sglang:latest runs SGLang but the container gives no command to read");
}
