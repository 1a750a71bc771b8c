// libFuzzer target: the safetensors reader (u64 header size, JSON header, offsets and overlaps).
#include "core/error.h"
#include "formats/safetensors.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = claa::fuzz::write_input("model.safetensors", data, size);
  try {
    claa::SafetensorsFile file(path);
    for (const auto& [name, t] : file.tensors()) {
      if (file.find(name) != &t) __builtin_trap();  // lookup must agree with the listing
      (void)file.bytes(t);
    }
  } catch (const claa::Error&) {
  }
  return 0;
}
