#include "harness/runner/provenance.h"

#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "claa_build_info.h"  // generated at build time by cmake/build_info.cmake
#include "core/fingerprint.h"
#include "core/mapped_file.h"

namespace claa {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

std::string model_fingerprint(const ModelSource& source) {
  namespace fs = std::filesystem;
  if (source.kind == "random") return "random";
  std::vector<std::string> files;
  if (fs::is_directory(source.path)) {
    for (const auto& e : fs::directory_iterator(source.path))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(source.path);
  }
  uint64_t h = kFnvOffset;
  for (const std::string& f : files) {
    MappedFile m(f);
    h = fnv1a(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()), h);
  }
  return fingerprint_text(h);
}

nlohmann::json provenance(const LoadedModel& m, const std::string& device, const std::string& dtype) {
  const ModelConfig& c = m.config;
  return {{"model",
           {{"source", m.source.path},
            {"format", m.source.kind},
            {"fingerprint", model_fingerprint(m.source)},
            {"architecture", c.architecture},
            {"layers", c.n_layers},
            {"heads", c.n_heads},
            {"kv_heads", c.n_kv_heads},
            {"context", c.context},
            {"features", c.features()}}},
          {"libtorch", TORCH_VERSION},
          {"device", device},
          {"dtype", dtype},
          {"git_commit", CLAA_GIT_COMMIT},
          {"git_dirty", CLAA_GIT_DIRTY},  // "true": built from a tree with uncommitted changes
          {"started", utc_now()}};
}

}  // namespace claa
