#include "harness/cli/model_options.h"

#include <ATen/Parallel.h>

#include <sstream>
#include <thread>

#include "core/error.h"

namespace claa {

void ModelOptions::add_to(CLI::App& command, bool allow_random_weights) {
  command.add_option("--model,-m", model, "a .gguf file, an HF model folder, or the alias smollm2-135m")
      ->capture_default_str();
  command.add_option("--device", device, "cpu | cuda | cuda:N")->capture_default_str();
  command.add_option("--devices", devices,
                     "split the layers over these devices, comma-separated (e.g. cuda:0,cuda:1; overrides --device)");
  command.add_option("--dtype", dtype, "fp32 | bf16 | fp16")->capture_default_str();
  command.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  command.add_option("--cpu-kernels", cpu_kernels,
                     "CPU fp32 layers: fused kernels, or plain ATen ops with explicit chunked attention")
      ->check(CLI::IsMember({"fused", "aten"}))
      ->capture_default_str();
  command.add_option("--gpu-kernels", gpu_kernels,
                     "GPU layers: claa's fused CUDA kernels (where built), or plain ATen ops")
      ->check(CLI::IsMember({"fused", "aten"}))
      ->capture_default_str();
  command
      .add_option("--gpu-attention", gpu_attention,
                  "GPU causal prefill attention: FlashAttention-3 where built and applicable (auto), or SDPA")
      ->check(CLI::IsMember({"auto", "sdpa"}))
      ->capture_default_str();
  if (allow_random_weights) {
    command.add_option("--random-weights", random_weights,
                       "build the model from an HF-style config.json with seeded random weights");
    command.add_option("--seed", seed, "seed for --random-weights")->capture_default_str();
  }
}

RuntimeOptions ModelOptions::runtime() const {
  RuntimeOptions r;
  r.device = parse_device(device);
  if (!devices.empty()) {
    std::stringstream list(devices);
    for (std::string d; std::getline(list, d, ',');)
      if (!d.empty()) r.devices.push_back(parse_device(d));
    require(!r.devices.empty(), "--devices '" + devices + "': give at least one device");
    r.device = r.devices.front();
  }
  r.dtype = parse_dtype(dtype);
  r.fused_cpu_kernels = cpu_kernels == "fused";
  r.fused_gpu_kernels = gpu_kernels == "fused";
  r.flash_attention = gpu_attention == "auto";
  return r;
}

LoadedModel ModelOptions::load() const {
  // OpenBLAS and ATen's intra-op pool both default sensibly, but be explicit: all cores.
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  RuntimeOptions r = runtime();
  if (!random_weights.empty()) return load_random_model(random_weights, seed, r);
  return load_model(model, r);
}

}  // namespace claa
