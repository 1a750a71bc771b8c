// A PCRE2 pattern compiled in UTF mode with Unicode properties (\p{L}, \s over all of Unicode), as the
// pre-tokenizer's splits and the Replace normalizer need it, owning the compiled code. Torch-free.
#pragma once

#include <pcre2.h>

#include <string>

#include "core/error.h"

namespace claa {

class UnicodeRegex {
 public:
  // `what` names the pattern's use; it leads the claa::Error thrown when the pattern does not compile.
  UnicodeRegex(const std::string& pattern, const std::string& what) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                          &offset, nullptr);
    if (code_ == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(err, message, sizeof message);
      throw Error(what + ": cannot compile '" + pattern + "' at offset " + std::to_string(offset) + ": " +
                  reinterpret_cast<const char*>(message));
    }
  }
  ~UnicodeRegex() { pcre2_code_free(code_); }
  UnicodeRegex(const UnicodeRegex&) = delete;
  UnicodeRegex& operator=(const UnicodeRegex&) = delete;

  pcre2_code* code() const { return code_; }

 private:
  pcre2_code* code_ = nullptr;
};

}  // namespace claa
