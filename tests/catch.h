// Include Catch2 whichever major version the machine has: Debian 12 ships v2 (single header),
// newer systems v3 (split headers).
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define CLAA_CATCH_V3 1
// v2 spellings used by the tests.
namespace Catch {
inline Matchers::StringContainsMatcher Contains(const std::string& s) { return Matchers::ContainsSubstring(s); }
}  // namespace Catch
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
#include <string>

// Absolute path of a file under the source tree (fixtures live in tests/fixtures).
inline std::string source_path(const std::string& relative) { return std::string(CLAA_SOURCE_DIR) + "/" + relative; }
