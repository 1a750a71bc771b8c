#include "formats/dequant.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "formats/gguf.h"

namespace claa {

namespace {

struct BlockFormat {
  int64_t values;  // values per block
  int64_t bytes;   // bytes per block
};

BlockFormat block_format(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return {1, 4};
    case GgmlType::F16: return {1, 2};
    case GgmlType::BF16: return {1, 2};
    case GgmlType::Q4_0: return {32, 18};
    case GgmlType::Q4_1: return {32, 20};
    case GgmlType::Q8_0: return {32, 34};
    case GgmlType::Q4_K: return {256, 144};
    case GgmlType::Q6_K: return {256, 210};
  }
  throw Error("unsupported ggml tensor type " + ggml_type_name(type));
}

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

float load_half(const uint8_t* p) { return half_to_float(load_u16(p)); }

// Q4_0 and Q4_1 share the nibble order: low nibbles are values 0..15, high nibbles 16..31.
void dequant_q4_0(const uint8_t* b, float* y) {
  float d = load_half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

void dequant_q4_1(const uint8_t* b, float* y) {
  float d = load_half(b);
  float m = load_half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

void dequant_q8_0(const uint8_t* b, float* y) {
  float d = load_half(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// ggml get_scale_min_k4: 8 sub-block scales and mins packed as 6-bit values in 12 bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Layout: f16 d, f16 dmin, u8 scales[12], u8 qs[128] (ggml dequantize_row_q4_K).
void dequant_q4_k(const uint8_t* b, float* y) {
  float d = load_half(b);
  float dmin = load_half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is, scales, &sc, &m);
    float d1 = d * sc, m1 = dmin * m;
    scale_min_k4(is + 1, scales, &sc, &m);
    float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// Layout: u8 ql[128], u8 qh[64], i8 scales[16], f16 d (ggml dequantize_row_q6_K).
void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = load_half(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l + 0] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3FF;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf / nan
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint64_t ggml_row_bytes(uint32_t type, int64_t n) {
  BlockFormat f = block_format(type);
  require(n >= 0 && n % f.values == 0,
          std::to_string(n) + " values is not a whole number of " + ggml_type_name(type) + " blocks");
  return static_cast<uint64_t>(n / f.values) * static_cast<uint64_t>(f.bytes);
}

void dequantize(uint32_t type, std::string_view src, int64_t n, float* dst) {
  BlockFormat f = block_format(type);
  require(src.size() == ggml_row_bytes(type, n), "dequantize: byte count does not match the value count");
  const uint8_t* p = reinterpret_cast<const uint8_t*>(src.data());
  int64_t blocks = n / f.values;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: std::memcpy(dst, p, static_cast<size_t>(n) * 4); return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_half(p + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load_u16(p + 2 * i));
      return;
    default: break;
  }
  void (*decode_block)(const uint8_t*, float*) = nullptr;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q4_0: decode_block = dequant_q4_0; break;
    case GgmlType::Q4_1: decode_block = dequant_q4_1; break;
    case GgmlType::Q8_0: decode_block = dequant_q8_0; break;
    case GgmlType::Q4_K: decode_block = dequant_q4_k; break;
    case GgmlType::Q6_K: decode_block = dequant_q6_k; break;
    default: throw Error("unsupported ggml tensor type " + ggml_type_name(type));
  }
  for (int64_t b = 0; b < blocks; ++b) decode_block(p + b * f.bytes, dst + b * f.values);
}

}  // namespace claa
