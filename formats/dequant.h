// Dequantisation of ggml block formats to float32, following ggml src/ggml-quants.c
// (dequantize_row_q4_0/_q4_1/_q8_0/_q4_K/_q6_K) and the f16/bf16 conversions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace claa {

// Bytes needed for `n` values of ggml type `type`; throws if n is not a whole number of blocks
// or the type is unsupported.
uint64_t ggml_row_bytes(uint32_t type, int64_t n);

// Decode `n` values of `type` from `src` (exactly ggml_row_bytes(type, n) bytes) into `dst`.
void dequantize(uint32_t type, std::string_view src, int64_t n, float* dst);

float half_to_float(uint16_t h);
float bf16_to_float(uint16_t h);

}  // namespace claa
