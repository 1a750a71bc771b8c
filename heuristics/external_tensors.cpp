#include "heuristics/external_tensors.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace claa {

void write_tensor_file(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const bool integral = !at::isFloatingType(t.scalar_type());
    at::Tensor c = t.detach().to(at::kCPU, integral ? at::kLong : at::kFloat).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", integral ? "I64" : "F32"},
                    {"shape", std::vector<int64_t>(c.sizes().begin(), c.sizes().end())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(c));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t size = text.size();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  require(out.good(), "cannot write " + path);
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(size >> (8 * i));
  out.write(reinterpret_cast<const char*>(le), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const at::Tensor& c : data)
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
  require(out.good(), "cannot write " + path + " (disk or /dev/shm full?)");
}

at::Tensor read_f32_tensor(const std::string& path, const std::string& name, const std::string& what) {
  std::ifstream probe(path);
  require(probe.good(), what + ": the worker wrote no file " + path);
  probe.close();
  MappedFile file(path);
  ByteReader r(file.data(), file.size(), what);
  const uint64_t header_size = r.read<uint64_t>();
  require(header_size <= r.remaining(), what + ": truncated header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(r.read_bytes(header_size, "header"));
  } catch (const nlohmann::json::exception&) {
    throw Error(what + ": the header is not JSON");
  }
  const size_t base = r.offset();
  require(header.is_object() && header.contains(name), what + ": no tensor '" + name + "' in the file");
  const nlohmann::json& e = header[name];
  require(e.is_object() && e.value("dtype", "") == "F32",
          what + ": '" + name + "' must be F32 (float32), it is " + (e.is_object() ? e.value("dtype", "?") : "?"));
  std::vector<int64_t> shape;
  int64_t numel = 1;
  try {
    shape = e.at("shape").get<std::vector<int64_t>>();
    for (int64_t s : shape) {
      require(s >= 0, what + ": negative dimension");
      numel *= s;
    }
    const auto offsets = e.at("data_offsets").get<std::vector<uint64_t>>();
    require(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= file.size() - base,
            what + ": data offsets out of the file");
    require(offsets[1] - offsets[0] == static_cast<uint64_t>(numel) * 4, what + ": data size does not match the shape");
    at::Tensor t = at::empty(shape, at::kFloat);
    std::memcpy(t.data_ptr<float>(), file.data() + base + offsets[0], offsets[1] - offsets[0]);
    return t;
  } catch (const nlohmann::json::exception&) {
    throw Error(what + ": bad shape or data_offsets for '" + name + "'");
  }
}

}  // namespace claa
