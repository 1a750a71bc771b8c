#include "formats/safetensors_writer.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace claa {

std::string safetensors_bytes(const std::vector<SafetensorsEntry>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  // nlohmann::ordered_json keeps the tensors in the order given (readers do not care; people do).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsEntry& t : tensors) {
    require(names.insert(t.name).second, "safetensors: tensor '" + t.name + "' is written twice");
    require(t.name != "__metadata__", "safetensors: '__metadata__' is not a tensor name");
    int64_t numel = 1;
    for (int64_t d : t.shape) {
      require(d >= 0, "safetensors: tensor '" + t.name + "' has a negative dimension");
      numel *= d;
    }
    require(numel == static_cast<int64_t>(t.data.size()),
            "safetensors: tensor '" + t.name + "' has " + std::to_string(t.data.size()) + " values for its shape");
    const uint64_t bytes = t.data.size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t size = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
  out += json;
  out.reserve(out.size() + offset);
  for (const SafetensorsEntry& t : tensors) {
    static_assert(sizeof(float) == 4, "F32 is 4 bytes");
    // Little-endian F32, as the format requires (every platform claa builds on is little-endian).
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, safetensors_bytes(tensors, metadata));
}

}  // namespace claa
