// The options every model-running subcommand shares (--model, --device, --dtype, --threads)
// and the code that turns them into a loaded model.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "model/model_loader.h"

namespace claa {

struct ModelOptions {
  std::string model = kDefaultModelAlias;
  std::string random_weights;  // HF-style config.json → seeded random weights
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string devices;  // "cuda:0,cuda:1": split the layers over these (overrides --device)
  std::string dtype = "fp32";
  int threads = 0;  // 0 = all cores
  std::string cpu_kernels = "fused";  // fused | aten (the plain ATen ops and chunked attention, for comparisons)
  std::string gpu_kernels = "fused";  // fused | aten (claa's CUDA kernels, or the plain ATen ops, for comparisons)
  std::string gpu_attention = "auto";  // auto (FlashAttention-3 where built and applicable) | sdpa

  void add_to(CLI::App& command, bool allow_random_weights);
  RuntimeOptions runtime() const;
  // Applies the thread count, then loads the model (or builds the random one).
  LoadedModel load() const;
};

}  // namespace claa
