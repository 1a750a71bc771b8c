// Deflate in the zlib format (RFC 1950) and base64 (RFC 4648): the explorer page embeds its data
// compressed (4–5× smaller), and the browser inflates it with DecompressionStream('deflate').
// zlib is optional at build time (zlib1g-dev): without it compressed_available() is false and the
// callers keep their data plain.
#pragma once

#include <string>
#include <string_view>

namespace claa {

bool compressed_available();
// claa::Error when zlib is missing or the input is not a complete zlib stream.
std::string deflate_zlib(std::string_view bytes);
std::string inflate_zlib(std::string_view bytes);

std::string base64_encode(std::string_view bytes);
// claa::Error on a character outside the alphabet or a length that is not a multiple of 4.
std::string base64_decode(std::string_view text);

}  // namespace claa
