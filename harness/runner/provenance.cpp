#include "harness/runner/provenance.h"

#include <torch/version.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "harness/util/mapped_file.h"

namespace claa {

namespace {

uint64_t fnv1a(const uint8_t* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

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
  uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& f : files) {
    MappedFile m(f);
    h = fnv1a(m.data(), m.size(), h);
  }
  return "fnv1a64:" + hex(h);
}

std::string git_commit() {
#ifdef CLAA_SOURCE_DIR
  std::string cmd = std::string("git -C '") + CLAA_SOURCE_DIR + "' rev-parse HEAD 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return "unknown";
  std::array<char, 64> buf{};
  std::string out;
  while (fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
#else
  return "unknown";
#endif
}

nlohmann::json provenance(const LoadedModel& m, const std::string& device, const std::string& dtype) {
  const ModelConfig& c = m.config;
  return {{"model", {{"source", m.source.path}, {"format", m.source.kind}, {"fingerprint", model_fingerprint(m.source)},
                     {"architecture", c.architecture}, {"layers", c.n_layers}, {"heads", c.n_heads},
                     {"kv_heads", c.n_kv_heads}, {"context", c.context}}},
          {"libtorch", TORCH_VERSION},
          {"device", device},
          {"dtype", dtype},
          {"git_commit", git_commit()},
          {"started", utc_now()}};
}

}  // namespace claa
