#include "datasets/text_sources.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/cache_paths.h"
#include "core/error.h"

namespace claa {

namespace fs = std::filesystem;

namespace {

std::mutex g_cache_mutex;

bool plain_lower_word(const std::string& w) {
  if (w.size() < 3 || w.size() > 12) return false;
  return std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  require(in.good(), "cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<std::string>& word_list(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  std::ifstream in(path);
  require(in.good(), "word list " + path + " not found (install it: apt-get install wamerican)");
  std::vector<std::string> words;
  for (std::string w; std::getline(in, w);) {
    if (plain_lower_word(w)) words.push_back(w);
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  require(words.size() >= 1000, "word list " + path + " has too few plain lowercase words");
  return cache.emplace(path, std::move(words)).first->second;
}

std::string default_haystack_dir() { return haystack_cache_dir(); }

const std::vector<std::string>& essay_words(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(dir);
  if (it != cache.end()) return it->second;
  const std::string fix = "no essay haystack in " + dir +
                          " (run scripts/fetch_haystack.sh, or pass --haystack DIR with .txt files)";
  require(fs::is_directory(dir), fix);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> words;
  for (const fs::path& p : files) {
    std::istringstream ss(read_file(p));
    for (std::string w; ss >> w;) words.push_back(w);  // RULER: re.sub(r'\s+', " ", essay).split(" ")
  }
  require(words.size() >= 100, fix);
  return cache.emplace(dir, std::move(words)).first->second;
}

std::string join_words(const std::vector<std::string>& words, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += words[i % words.size()];
  }
  return out;
}

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < text.size() && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) ++j;
    if (j < text.size() && text[j] == ' ') {
      out.push_back(text.substr(start, j - start));
      start = j + 1;
      i = j;
    }
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

}  // namespace claa
