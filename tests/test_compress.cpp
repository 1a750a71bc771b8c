// Deflate (zlib format) and base64 (core/compress.h): RFC 4648's test vectors, a zlib stream made by
// Python's zlib (zlib.compress(b"claa explorer", 9)), and round trips.
#include <string>

#include "core/compress.h"
#include "core/error.h"
#include "tests/catch.h"

using namespace claa;

TEST_CASE("base64 encodes and decodes RFC 4648's test vectors", "[compress]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
  const std::string bytes("\x00\xff\x10\x80", 4);
  CHECK(base64_decode(base64_encode(bytes)) == bytes);
  CHECK_THROWS_AS(base64_decode("Zm9"), Error);       // not a multiple of 4
  CHECK_THROWS_AS(base64_decode("Zm9*"), Error);      // outside the alphabet
  CHECK_THROWS_AS(base64_decode("Zg==Zg=="), Error);  // padding before the end
  CHECK_THROWS_AS(base64_decode("AB=C"), Error);      // a character after the padding
}

TEST_CASE("deflate in the zlib format round-trips and reads Python's zlib output", "[compress]") {
  if (!compressed_available()) {
    CHECK_THROWS_AS(deflate_zlib("x"), Error);
    return;
  }
  // zlib.compress(b"claa explorer", 9).hex()
  const std::string python("\x78\xda\x4b\xce\x49\x4c\x54\x48\xad\x28\xc8\xc9\x2f\x4a\x2d\x02\x00\x22\xb3\x05\x23", 21);
  CHECK(inflate_zlib(python) == "claa explorer");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "token " + std::to_string(i % 97) + " ";
  const std::string packed = deflate_zlib(text);
  CHECK(packed.size() < text.size() / 4);
  CHECK(inflate_zlib(packed) == text);
  CHECK(inflate_zlib(deflate_zlib("")).empty());
  CHECK_THROWS_AS(inflate_zlib(packed.substr(0, packed.size() / 2)), Error);  // cut short
  CHECK_THROWS_AS(inflate_zlib("not zlib"), Error);
}
