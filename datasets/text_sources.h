// Word lists and essay haystacks for the synthetic generators.
//  - Words: Debian's `wamerican` list (/usr/share/dict/american-english), filtered to lowercase ASCII
//    alphabetic words; RULER draws from the `wonderwords` noun/adjective/verb lists instead.
//  - Essays: every *.txt file of a folder, in name order, whitespace-collapsed into one word stream.
//    Default folder: $CLAA_HAYSTACK_DIR, else $XDG_CACHE_HOME/claa/haystack, else ~/.cache/claa/haystack
//    (installed by scripts/fetch_haystack.sh: public-domain Project Gutenberg texts).
#pragma once

#include <string>
#include <vector>

namespace claa {

inline constexpr const char* kDefaultWordList = "/usr/share/dict/american-english";

// Sorted, de-duplicated lowercase words of 3..12 letters; cached per path. claa::Error if missing.
const std::vector<std::string>& word_list(const std::string& path = kDefaultWordList);

std::string default_haystack_dir();
// The essay words of `dir` (cached per dir). claa::Error with the fix when the folder has no text.
const std::vector<std::string>& essay_words(const std::string& dir);

// The first n words, cycling through the essay when it is shorter (RULER repeats its haystack).
std::string join_words(const std::vector<std::string>& words, size_t n);

// Split prose into sentences after '.', '!' or '?' (optionally followed by closing quotes/brackets)
// and a space; a stand-in for nltk's sent_tokenize that RULER uses. Sentences keep their text
// without the separating space.
std::vector<std::string> split_sentences(const std::string& text);

}  // namespace claa
