// The tensor files of the external-heuristic protocol (docs/reference.md "External heuristics"):
// the safetensors layout (huggingface/safetensors README: u64 little-endian header size, a JSON
// header of {name: {dtype, shape, data_offsets}} and "__metadata__", padded with spaces to a multiple
// of 8 so every tensor is aligned, then the bytes), so a worker maps them with numpy.memmap, or
// safetensors.numpy.load_file, without copying. claa writes F32 and I64, and reads F32 back.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace claa {

// Writes the tensors (any device, F32 or I64 after conversion of other float / integer types) to
// `path`; the header's "__metadata__" holds `metadata`.
void write_tensor_file(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// Reads the F32 tensor `name` from a file in that layout; claa::Error naming `what` on anything
// malformed (truncated, a bad header, another dtype, offsets out of bounds or not matching the shape).
at::Tensor read_f32_tensor(const std::string& path, const std::string& name, const std::string& what);

}  // namespace claa
