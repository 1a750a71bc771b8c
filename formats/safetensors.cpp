#include "formats/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace claa {

namespace {

using json = nlohmann::json;

uint64_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

SafetensorsTensor parse_entry(const std::string& name, const json& e, const std::string& path, uint64_t buffer_size) {
  require(e.is_object() && e.contains("dtype") && e.contains("shape") && e.contains("data_offsets"),
          path + ": header entry " + name + " lacks dtype/shape/data_offsets");
  SafetensorsTensor t;
  t.name = name;
  t.dtype = e["dtype"].get<std::string>();
  for (const json& d : e["shape"]) {
    require(d.is_number_integer() && d.get<int64_t>() >= 0, path + ": tensor " + name + " has a bad shape");
    t.shape.push_back(d.get<int64_t>());
  }
  const json& off = e["data_offsets"];
  require(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
          path + ": tensor " + name + " has bad data_offsets");
  t.begin = off[0].get<uint64_t>();
  t.end = off[1].get<uint64_t>();
  require(t.begin <= t.end && t.end <= buffer_size,
          path + ": tensor " + name + " lies outside the file (truncated or corrupt)");
  uint64_t size = dtype_size(t.dtype);
  require(size > 0, path + ": tensor " + name + " has unknown dtype " + t.dtype);
  require(t.end - t.begin == static_cast<uint64_t>(t.numel()) * size,
          path + ": tensor " + name + " byte size does not match its shape and dtype");
  return t;
}

}  // namespace

int64_t SafetensorsTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  ByteReader r(file_->data(), file_->size(), path);
  uint64_t header_size = r.read<uint64_t>();
  require(header_size <= r.remaining(), path + ": header size " + std::to_string(header_size) + " exceeds the file");
  std::string_view header = r.read_bytes(header_size, "header");
  buffer_offset_ = 8 + header_size;
  uint64_t buffer_size = file_->size() - buffer_offset_;
  json j;
  try {
    j = json::parse(header);
  } catch (const json::exception& e) {
    throw Error(path + ": malformed safetensors header (" + e.what() + ")");
  }
  require(j.is_object(), path + ": safetensors header is not a JSON object");
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      SafetensorsTensor t = parse_entry(it.key(), it.value(), path, buffer_size);
      ranges.emplace_back(t.begin, t.end);
      tensors_[t.name] = std::move(t);
    }
  } catch (const json::exception& e) {
    throw Error(path + ": bad safetensors header field (" + e.what() + ")");
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    require(ranges[i].first >= ranges[i - 1].second, path + ": tensors overlap in the byte buffer (corrupt file)");
  }
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::string_view SafetensorsFile::bytes(const SafetensorsTensor& t) const {
  return std::string_view(reinterpret_cast<const char*>(file_->data() + buffer_offset_ + t.begin), t.end - t.begin);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& folder) {
  namespace fs = std::filesystem;
  fs::path single = fs::path(folder) / "model.safetensors";
  fs::path index = fs::path(folder) / "model.safetensors.index.json";
  std::vector<std::string> paths;
  if (fs::exists(index)) {
    std::ifstream in(index);
    json j;
    try {
      in >> j;
    } catch (const json::exception& e) {
      throw Error(index.string() + ": malformed JSON (" + e.what() + ")");
    }
    require(j.contains("weight_map") && j["weight_map"].is_object(), index.string() + ": missing weight_map");
    std::set<std::string> shard_names;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      require(it.value().is_string(), index.string() + ": weight_map values must be file names");
      shard_names.insert(it.value().get<std::string>());
    }
    for (const std::string& s : shard_names) paths.push_back((fs::path(folder) / s).string());
  } else {
    require(fs::exists(single), folder + ": no model.safetensors or model.safetensors.index.json");
    paths.push_back(single.string());
  }
  for (const std::string& p : paths) {
    files_.push_back(std::make_unique<SafetensorsFile>(p));
    for (const auto& [name, _] : files_.back()->tensors()) owner_[name] = files_.size() - 1;
  }
}

const SafetensorsFile* SafetensorsCheckpoint::file_for(const std::string& name) const {
  auto it = owner_.find(name);
  return it == owner_.end() ? nullptr : files_[it->second].get();
}

std::vector<std::string> SafetensorsCheckpoint::dtypes() const {
  std::set<std::string> seen;
  for (const auto& f : files_)
    for (const auto& [_, t] : f->tensors()) seen.insert(t.dtype);
  return {seen.begin(), seen.end()};
}

}  // namespace claa
