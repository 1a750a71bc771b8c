// libFuzzer target: the GGUF reader (header, metadata of every type, tensor infos, payload views)
// and what claa reads from it before any tensor is loaded: the model config and the tokenizer.
#include "core/error.h"
#include "formats/gguf.h"
#include "fuzz/fuzz_input.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = claa::fuzz::write_input("model.gguf", data, size);
  try {
    claa::GgufFile gguf(path);
    for (const claa::GgufTensorInfo& t : gguf.tensors()) (void)gguf.tensor_bytes(t);
    try {
      claa::ModelConfig::from_gguf(gguf).validate(path);
    } catch (const claa::Error&) {
    }
    claa::Tokenizer tok = claa::Tokenizer::from_gguf(gguf);
    (void)tok.decode(tok.encode("Hello <|im_start|>world 123"));
  } catch (const claa::Error&) {
  }
  return 0;
}
