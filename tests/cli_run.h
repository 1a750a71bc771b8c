// Running the real `claa` binary from a test, and reading what it wrote.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The committed baselines (tests/baselines/ci*.json) hold CPU numbers, and ATen picks AVX-512 kernels
// where the CPU has them while OpenBLAS picks its kernels by CPU model: that moved near-tied ranks
// between hosts (knorm layer 0 recall@0.2: 0.2504 on an AVX-512 host, 0.2527 on an AVX2 host). Every
// claa these tests start runs ATen's AVX2 kernels and OpenBLAS's Haswell ones, so the baselines (made
// the same way) hold on any x86-64 host with AVX2.
inline void pin_cpu_kernels() {
  ::setenv("ATEN_CPU_CAPABILITY", "avx2", 1);
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
}

// `claa ARGS` with the CPU kernels pinned; its exit status, and its output in *output.
inline int run_cli(const std::string& args, std::string* output = nullptr) {
  pin_cpu_kernels();
  // ctest runs test cases in parallel processes: keep every temporary name per process.
  const std::string log =
      (std::filesystem::temp_directory_path() / ("claa_cli_" + std::to_string(getpid()) + ".log")).string();
  const int status = std::system((std::string(CLAA_BINARY) + " " + args + " > " + log + " 2>&1").c_str());
  if (output) *output = read_all(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
