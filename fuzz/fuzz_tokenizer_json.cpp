// libFuzzer target: HF tokenizer.json loading (model BPE + merges, pre-tokenizer, added tokens),
// then a round trip through the loaded tokenizer.
#include "core/error.h"
#include "fuzz/fuzz_input.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = claa::fuzz::write_input("tokenizer.json", data, size);
  try {
    claa::Tokenizer tok = claa::Tokenizer::from_hf_json(path);
    std::vector<int32_t> ids = tok.encode("Hello, world! 12345 <|endoftext|>  \n\t é", true);
    (void)tok.decode(ids);
    (void)tok.eos_ids();
  } catch (const claa::Error&) {
  }
  return 0;
}
