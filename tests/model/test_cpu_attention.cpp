// The fused CPU attention kernel (model/cpu_attention.h) against plain LibTorch ops:
// explicit scores, causal mask, softmax, probabilities · values, and the H2O column sums, for GQA,
// prompts with and without an earlier cache, several query/key blocks, odd sizes, strided inputs,
// both the AVX2 and the portable path, each with claa's micro-kernels and with OpenBLAS's sgemm
// for the products (when the process has OpenBLAS, as Debian's LibTorch does). Tolerance: 1e-5 absolute on outputs
// (unit-scale values), 1e-5 relative on column sums; the two differ only in summation order and exp rounding.
#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "model/cpu_attention.h"
#include "model/cpu_attention_args.h"
#include "model/cpu_blas.h"
#include "tests/catch.h"

namespace {

struct Case {
  int64_t heads, kv_heads, queries, past, head_dim;
};

struct Reference {
  at::Tensor out;          // [H, T, d]
  at::Tensor column_sums;  // [H_kv, S]
};

Reference reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past) {
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), Hkv = k.size(0), S = k.size(1), G = H / Hkv;
  at::Tensor ke = k.repeat_interleave(G, 0), ve = v.repeat_interleave(G, 0);
  at::Tensor scores = at::matmul(q.to(at::kDouble), ke.to(at::kDouble).transpose(1, 2)) / std::sqrt(double(d));
  at::Tensor future = at::arange(S).unsqueeze(0) > (at::arange(T) + past).unsqueeze(1);
  scores.masked_fill_(future, -std::numeric_limits<double>::infinity());
  at::Tensor probs = at::softmax(scores, -1);
  return {at::matmul(probs, ve.to(at::kDouble)).to(at::kFloat), probs.view({Hkv, G, T, S}).sum({1, 2}).to(at::kFloat)};
}

// Runs the kernel on q given as a [T, H, d] buffer viewed as [H, T, d] (as the model passes it).
Reference fused(const at::Tensor& q_thd, const at::Tensor& k, const at::Tensor& v, claa::cpu::Isa isa, bool sums,
                bool blas) {
  const int64_t T = q_thd.size(0), H = q_thd.size(1), d = q_thd.size(2), Hkv = k.size(0), S = k.size(1);
  at::Tensor q = q_thd.transpose(0, 1);
  at::Tensor out = at::full({H, T, d}, std::nanf(""));
  at::Tensor col = at::zeros({Hkv, S});
  claa::cpu::AttentionArgs a = claa::cpu::attention_args(q, k, v, out);
  a.column_sums = sums ? col.data_ptr<float>() : nullptr;
  a.isa = isa;
  a.blas_products = blas;
  claa::cpu::causal_attention(a);
  return {out, col};
}

// claa's own products always; OpenBLAS's sgemm too where the process has it.
std::vector<bool> blas_modes() {
  if (claa::cpu::sgemm_available()) return {false, true};
  return {false};
}

}  // namespace

TEST_CASE("Fused CPU attention matches explicit softmax attention", "[model][attention]") {
  const Case cases[] = {
      {6, 2, 37, 0, 64},     // GQA (G = 3), one partial query block and key block
      {6, 2, 150, 0, 64},    // several query blocks (64 rows) and key blocks (128 keys)
      {4, 4, 70, 200, 64},   // an earlier cache: queries see past + i + 1 keys
      {9, 3, 1, 300, 64},    // one decode step: split over key chunks (256), here two
      {8, 2, 1, 1000, 128},  // a decode step over four chunks, the last one partial
      {4, 4, 1, 0, 64},      // a decode step that sees its own key only
      {6, 2, 1, 256, 32},    // a decode step one key past a whole chunk; head_dim 32
      {4, 2, 1, 40, 24},     // a decode step with head_dim not a multiple of 16 (portable path)
      {4, 2, 45, 19, 24},    // head_dim not a multiple of 16: portable path even when AVX2 asked
      {8, 2, 130, 5, 128},   // Llama-8B head_dim
      {3, 1, 300, 260, 64},  // several BLAS blocks (128 queries, 256 keys) with a past that is not block-aligned
  };
  std::vector<claa::cpu::Isa> isas = {claa::cpu::Isa::Portable};
  if (claa::cpu::best_isa() == claa::cpu::Isa::Avx2Fma) isas.push_back(claa::cpu::Isa::Avx2Fma);
  at::manual_seed(7);
  for (const Case& c : cases) {
    const int64_t S = c.past + c.queries;
    at::Tensor q = at::randn({c.queries, c.heads, c.head_dim});
    // Keys and values as in the KV cache: [H_kv, capacity, d] with spare rows after S.
    at::Tensor k = at::randn({c.kv_heads, S + 3, c.head_dim}).narrow(1, 0, S);
    at::Tensor v = at::randn({c.kv_heads, S + 3, c.head_dim}).narrow(1, 0, S);
    Reference want = reference(q.transpose(0, 1), k, v, c.past);
    for (claa::cpu::Isa isa : isas) {
      for (bool blas : blas_modes()) {
        INFO("H " << c.heads << " H_kv " << c.kv_heads << " T " << c.queries << " past " << c.past << " d "
                  << c.head_dim << " isa " << claa::cpu::isa_name(isa) << (blas ? " + sgemm" : ""));
        Reference got = fused(q, k, v, isa, /*sums=*/true, blas);
        double out_err = (got.out - want.out).abs().max().item<double>();
        double sum_err =
            ((got.column_sums - want.column_sums).abs() / (want.column_sums.abs() + 1e-3)).max().item<double>();
        INFO("max |Δout| " << out_err << ", max relative |Δcolumn sum| " << sum_err);
        CHECK(out_err <= 1e-5);
        CHECK(sum_err <= 1e-5);
        // Without column sums the output is the same.
        CHECK(fused(q, k, v, isa, /*sums=*/false, blas).out.equal(got.out));
      }
    }
  }
}

TEST_CASE("Fused CPU attention handles extreme scores without overflow", "[model][attention]") {
  // Large logits (|q·k|/√d up to ~1e3) must not overflow the online softmax's rescaling.
  at::manual_seed(3);
  at::Tensor q = at::randn({40, 2, 16}) * 30, k = at::randn({1, 40, 16}) * 30, v = at::randn({1, 40, 16});
  Reference want = reference(q.transpose(0, 1), k, v, 0);
  for (claa::cpu::Isa isa : {claa::cpu::Isa::Portable, claa::cpu::best_isa()}) {
    for (bool blas : blas_modes()) {
      Reference got = fused(q, k, v, isa, true, blas);
      CHECK(got.out.isfinite().all().item<bool>());
      CHECK((got.out - want.out).abs().max().item<double>() <= 1e-4);
    }
  }
}

namespace {

// KVzip's maxima written from its definition (kvpress kvzip_press.py score_kvzip): gather the sinks,
// the focus keys and the new keys, take the softmax over them alone (causal among the new keys), and
// keep each focus key's largest probability over the G heads of its group and the T queries. In double.
at::Tensor subset_maxima_reference(const at::Tensor& q, const at::Tensor& k, int64_t sinks, int64_t begin,
                                   int64_t end) {
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), Hkv = k.size(0), S = k.size(1), G = H / Hkv;
  at::Tensor gathered = at::cat({k.narrow(1, 0, sinks), k.narrow(1, begin, end - begin), k.narrow(1, S - T, T)}, 1);
  at::Tensor scores = at::matmul(q.to(at::kDouble), gathered.repeat_interleave(G, 0).to(at::kDouble).transpose(1, 2)) /
                      std::sqrt(double(d));
  const int64_t K = gathered.size(1);
  at::Tensor future = at::arange(T).unsqueeze(0) > at::arange(T).unsqueeze(1);  // [T, T] over the new keys
  scores.narrow(2, K - T, T).masked_fill_(future, -std::numeric_limits<double>::infinity());
  at::Tensor probs = at::softmax(scores, -1).narrow(2, sinks, end - begin);  // [H, T, focus]
  return probs.view({Hkv, G, T, end - begin}).amax({1, 2}).to(at::kFloat);
}

}  // namespace

TEST_CASE("Fused CPU attention's subset maxima match a softmax over the gathered subset", "[model][attention][kvzip]") {
  struct SubsetCase {
    int64_t heads, kv_heads, queries, past, sinks, begin, end;
  };
  const SubsetCase cases[] = {
      {9, 3, 40, 300, 4, 24, 300},    // SmolLM2's groups, the focus up to the request (one chunk)
      {6, 2, 150, 700, 4, 260, 530},  // a focus inside the context, crossing key blocks of 128 and 256
      {4, 4, 37, 90, 0, 0, 90},       // no sinks: the first chunk of a context with no chat prefix
      {4, 2, 20, 64, 3, 10, 10},      // an empty focus: nothing written
  };
  std::vector<claa::cpu::Isa> isas = {claa::cpu::Isa::Portable};
  if (claa::cpu::best_isa() == claa::cpu::Isa::Avx2Fma) isas.push_back(claa::cpu::Isa::Avx2Fma);
  at::manual_seed(11);
  for (const SubsetCase& c : cases) {
    const int64_t S = c.past + c.queries, d = 64;
    at::Tensor q = at::randn({c.heads, c.queries, d}) * 2;  // sharper than unit scale: maxima far from uniform
    at::Tensor k = at::randn({c.kv_heads, S, d}), v = at::randn({c.kv_heads, S, d});
    const at::Tensor want = subset_maxima_reference(q, k, c.sinks, c.begin, c.end);
    for (claa::cpu::Isa isa : isas) {
      for (bool blas : blas_modes()) {
        INFO("H " << c.heads << " T " << c.queries << " past " << c.past << " subset " << c.sinks << " + [" << c.begin
                  << ", " << c.end << ") isa " << claa::cpu::isa_name(isa) << (blas ? " + sgemm" : ""));
        at::Tensor out = at::empty({c.heads, c.queries, d});
        at::Tensor maxima = at::full({c.kv_heads, S}, -1.0f);  // outside the focus must stay untouched
        maxima.narrow(1, c.begin, c.end - c.begin).zero_();
        claa::cpu::AttentionArgs a = claa::cpu::attention_args(q, k, v, out);
        a.subset_maxima = maxima.data_ptr<float>();
        a.subset_sinks = c.sinks, a.focus_begin = c.begin, a.focus_end = c.end;
        a.isa = isa;
        a.blas_products = blas;
        claa::cpu::causal_attention(a);
        const at::Tensor got = maxima.narrow(1, c.begin, c.end - c.begin);
        if (c.end > c.begin) {
          const double error = ((got - want).abs() / (want.abs() + 1e-6)).max().item<double>();
          INFO("max relative |Δ| " << error << ", largest maximum " << want.max().item<double>());
          CHECK(error <= 1e-5);
        }
        CHECK((maxima.narrow(1, 0, c.begin) == -1.0f).all().item<bool>());
        CHECK((maxima.narrow(1, c.end, S - c.end) == -1.0f).all().item<bool>());
        // The output itself is the plain attention's, subset or not.
        CHECK((out - reference(q, k, v, c.past).out).abs().max().item<double>() <= 1e-5);
      }
    }
  }
}

TEST_CASE("The Debian LibTorch process finds OpenBLAS's sgemm and it multiplies correctly", "[model][attention]") {
  // On Debian's LibTorch (what CI builds against) OpenBLAS is loaded, so the fast path must be found;
  // a LibTorch with MKL inside (pip, the GPU build) uses claa's own products instead.
#if TORCH_VERSION_MAJOR < 2
  REQUIRE(claa::cpu::sgemm_available());  // Debian's libtorch-dev 1.13 runs on OpenBLAS
#endif
  if (!claa::cpu::sgemm_available()) {
    WARN("no OpenBLAS in this process: attention uses claa's own products");
    return;
  }
  at::manual_seed(5);
  at::Tensor a = at::randn({5, 7}), b = at::randn({7, 3}), bt = at::randn({3, 7}), c = at::randn({5, 3});
  at::Tensor got = c.clone();
  claa::cpu::sgemm(false, 5, 3, 7, a.data_ptr<float>(), 7, b.data_ptr<float>(), 3, 1.0f, got.data_ptr<float>(), 3);
  CHECK((got - (at::mm(a, b) + c)).abs().max().item<double>() <= 1e-5);
  claa::cpu::sgemm(true, 5, 3, 7, a.data_ptr<float>(), 7, bt.data_ptr<float>(), 7, 0.0f, got.data_ptr<float>(), 3);
  CHECK((got - at::mm(a, bt.t())).abs().max().item<double>() <= 1e-5);
}
