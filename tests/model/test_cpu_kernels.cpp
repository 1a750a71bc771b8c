// The fused element-wise CPU kernels (model/cpu_kernels.h) against the ATen ops they
// replace, on both the AVX2 and the portable path. Tolerances: RMSNorm and SiLU·up 2e-6 relative
// (summation order, exp rounding); RoPE exactly equal (same operations per element).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model/cpu_attention.h"
#include "model/cpu_kernels.h"
#include "tests/catch.h"

namespace {

double max_rel(const at::Tensor& got, const at::Tensor& want) {
  return ((got - want).abs() / (want.abs() + 1e-6)).max().item<double>();
}

struct PortableScope {
  explicit PortableScope(bool on) { claa::cpu::set_portable_only(on); }
  ~PortableScope() { claa::cpu::set_portable_only(false); }
};

}  // namespace

TEST_CASE("Fused CPU RMSNorm RoPE and SwiGLU match the ATen ops", "[model][kernels]") {
  at::manual_seed(11);
  for (bool portable : {false, true}) {
    PortableScope scope(portable);
    INFO((portable ? "portable" : claa::cpu::isa_name(claa::cpu::best_isa())) << " path");
    for (int64_t rows : {1, 3, 257}) {
      INFO(rows << " rows");
      // RMSNorm over 576 (+ an odd 37) features, rows with a stride wider than the row.
      for (int64_t dim : {576, 37}) {
        at::Tensor x = at::randn({rows, dim + 5}).narrow(1, 0, dim) * 3, w = at::randn({dim});
        at::Tensor want = w * (x * at::rsqrt(x.pow(2).mean(-1, true) + 1e-5));
        at::Tensor got = at::empty({rows, dim});
        claa::cpu::rms_norm(x.data_ptr<float>(), x.stride(0), w.data_ptr<float>(), rows, dim, 1e-5f,
                            got.data_ptr<float>(), got.stride(0));
        CHECK(max_rel(got, want) <= 2e-6);
      }
      // RoPE on 3 heads of width 64 inside wider rows, against HF's rotate_half formula.
      const int64_t heads = 3, d = 64;
      at::Tensor buf = at::randn({rows, heads * d + 64});
      at::Tensor freqs = at::arange(rows).to(at::kFloat).unsqueeze(1) * at::rand({d / 2});
      at::Tensor cos = freqs.cos(), sin = freqs.sin();
      at::Tensor xh = buf.narrow(1, 0, heads * d).view({rows, heads, d}).clone();
      at::Tensor c2 = at::cat({cos, cos}, -1).unsqueeze(1), s2 = at::cat({sin, sin}, -1).unsqueeze(1);
      at::Tensor rotated = at::cat({-xh.narrow(-1, d / 2, d / 2), xh.narrow(-1, 0, d / 2)}, -1);
      at::Tensor want = xh * c2 + rotated * s2;
      at::Tensor tail = buf.narrow(1, heads * d, 64).clone();
      claa::cpu::rope_in_place(buf.data_ptr<float>(), buf.stride(0), rows, heads, d, cos.data_ptr<float>(),
                               sin.data_ptr<float>());
      CHECK(buf.narrow(1, 0, heads * d).view({rows, heads, d}).equal(want));
      CHECK(buf.narrow(1, heads * d, 64).equal(tail));  // columns after the heads untouched
      // SwiGLU on a fused [gate | up] buffer, including large |gate| (saturated sigmoid).
      const int64_t ffn = 1536 + 3;
      at::Tensor gu = at::randn({rows, 2 * ffn}) * 4;
      gu[0][0] = 95.0f;
      gu[0][1] = -95.0f;
      at::Tensor act = at::empty({rows, ffn});
      claa::cpu::silu_mul(gu.data_ptr<float>(), gu.stride(0), rows, ffn, act.data_ptr<float>(), act.stride(0));
      at::Tensor want_act = at::silu(gu.narrow(1, 0, ffn)) * gu.narrow(1, ffn, ffn);
      CHECK(((act - want_act).abs() / (want_act.abs() + 1e-3)).max().item<double>() <= 2e-6);
    }
  }
}

// Regression guard: at::parallel_for compiled into claa's code without OpenMP ran every kernel on
// one thread (the fused CPU path kept 1.01 of 2 cores busy). parallel_width() runs in claa_lib.
TEST_CASE("claa's parallel regions use every ATen thread", "[model][kernels]") {
  const int before = at::get_num_threads();
  at::set_num_threads(3);
  const int width = claa::cpu::parallel_width();
  at::set_num_threads(before);
  CHECK(width == 3);
}
