#include "core/compress.h"

#include <array>
#include <cstdint>

#include "core/error.h"

#ifdef CLAA_HAVE_ZLIB
#include <zlib.h>
#endif

namespace claa {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

#ifdef CLAA_HAVE_ZLIB

bool compressed_available() { return true; }

// zlib's default level (6), not 9: on the main job's explorer data (3.6 MB of JSON) level 9 took 1.5 s for
// 3.9% fewer bytes than level 6's 0.17 s (docs/benchmarks.md, sixteenth session).
std::string deflate_zlib(std::string_view bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(bytes.data()),
                           static_cast<uLong>(bytes.size()), Z_DEFAULT_COMPRESSION);
  require(rc == Z_OK, "deflate failed (zlib error " + std::to_string(rc) + ")");
  out.resize(size);
  return out;
}

std::string inflate_zlib(std::string_view bytes) {
  z_stream z{};
  require(inflateInit(&z) == Z_OK, "inflate: zlib could not start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  std::array<char, 1 << 16> chunk;
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended before the stream did
  }
  inflateEnd(&z);
  require(rc == Z_STREAM_END, "inflate: not a complete zlib stream");
  return out;
}

#else

bool compressed_available() { return false; }
std::string deflate_zlib(std::string_view) { throw Error("deflate: this build has no zlib (install zlib1g-dev)"); }
std::string inflate_zlib(std::string_view) { throw Error("inflate: this build has no zlib (install zlib1g-dev)"); }

#endif

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  require(text.size() % 4 == 0, "base64: the length must be a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t group = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      const size_t v = c == '=' ? 0 : kAlphabet.find(c);
      require(v != std::string_view::npos, "base64: a character outside the alphabet");
      require(c != '=' || (i + 4 == text.size() && k >= 2), "base64: padding before the end");
      require(c == '=' || pad == 0, "base64: a character after the padding");
      pad += c == '=';
      group = group << 6 | static_cast<uint32_t>(v);
    }
    for (int k = 0; k < 3 - pad; ++k) out += static_cast<char>((group >> (16 - 8 * k)) & 0xFF);
  }
  return out;
}

}  // namespace claa
