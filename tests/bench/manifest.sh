#!/bin/sh
# Writes a Kubernetes manifest of N vLLM Deployments (each with its Service) to standard output,
# on five models and GPUs: the `check` benchmark of process.sh (docs/performance.md).
#   tests/bench/manifest.sh 500 > manifest.yaml
set -eu
n=${1:-500}
i=0
while [ "$i" -lt "$n" ]; do
  case $((i % 5)) in
    0) model=meta-llama/Llama-3.1-8B-Instruct; gpus=1; product=NVIDIA-L4; len=16384 ;;
    1) model=meta-llama/Llama-3.1-70B-Instruct; gpus=4; product=NVIDIA-H100-80GB-HBM3; len=32768 ;;
    2) model=Qwen/Qwen2.5-32B-Instruct-AWQ; gpus=1; product=NVIDIA-L40S; len=32768 ;;
    3) model=Qwen/Qwen3-30B-A3B-Instruct-2507-FP8; gpus=2; product=NVIDIA-A100-SXM4-80GB; len=65536 ;;
    4) model=openai/gpt-oss-120b; gpus=1; product=NVIDIA-H200; len=131072 ;;
  esac
  cat <<DOC
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-$i
  namespace: team-$((i % 7))
spec:
  replicas: 2
  template:
    spec:
      nodeSelector:
        nvidia.com/gpu.product: $product
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: ["$model", "--tensor-parallel-size", "$gpus", "--max-model-len", "$len", "--port", "8000"]
          resources:
            limits:
              nvidia.com/gpu: "$gpus"
---
apiVersion: v1
kind: Service
metadata:
  name: model-$i
  namespace: team-$((i % 7))
spec:
  ports: [{port: 8000}]
DOC
  i=$((i + 1))
done
