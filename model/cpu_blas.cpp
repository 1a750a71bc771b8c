#include "model/cpu_blas.h"

#include <dlfcn.h>

#include <climits>
#include <cstring>

#include "core/error.h"

namespace claa::cpu {

namespace {

// cblas.h's values (CBLAS_ORDER, CBLAS_TRANSPOSE); OpenBLAS's blasint is int unless built with
// INTERFACE64 (checked below through openblas_get_config).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                            int);

struct OpenBlas {
  void (*set_threads)(int) = nullptr;
  CblasSgemm sgemm = nullptr;
};

// cblas_sgemm is looked up in the same library as openblas_set_num_threads, so a different BLAS
// that happens to export cblas_sgemm (or a 64-bit-integer OpenBLAS) is never called by mistake.
OpenBlas find_openblas() {
  OpenBlas blas;
  void* set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (set == nullptr) return blas;
  blas.set_threads = reinterpret_cast<void (*)(int)>(set);
  Dl_info info{};
  if (dladdr(set, &info) == 0 || info.dli_fname == nullptr) return blas;
  void* lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (lib == nullptr) return blas;
  auto get_config = reinterpret_cast<const char* (*)()>(dlsym(lib, "openblas_get_config"));
  const bool int64 = get_config != nullptr && std::strstr(get_config(), "USE64BITINT") != nullptr;
  if (!int64) blas.sgemm = reinterpret_cast<CblasSgemm>(dlsym(lib, "cblas_sgemm"));
  dlclose(lib);  // RTLD_NOLOAD took one more reference; the library stays loaded
  return blas;
}

const OpenBlas& openblas() {
  static const OpenBlas blas = find_openblas();
  return blas;
}

int as_int(int64_t x) {
  require(x >= 0 && x <= INT_MAX, "sgemm: dimension out of the BLAS's 32-bit range");
  return static_cast<int>(x);
}

}  // namespace

bool set_blas_threads(int threads) {
  if (openblas().set_threads == nullptr) return false;
  openblas().set_threads(threads);
  return true;
}

bool sgemm_available() { return openblas().sgemm != nullptr; }

void sgemm(bool b_transposed, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc) {
  require(sgemm_available(), "sgemm: no OpenBLAS cblas_sgemm in this process");
  openblas().sgemm(kRowMajor, kNoTrans, b_transposed ? kTrans : kNoTrans, as_int(m), as_int(n), as_int(k), 1.0f, a,
                   as_int(lda), b, as_int(ldb), beta, c, as_int(ldc));
}

}  // namespace claa::cpu
