// CSV as RFC 4180 and pandas write it: comma-separated, fields with commas, quotes or line breaks in
// double quotes, a quote inside doubled. For reading other tools' result files (kvpress's
// predictions.csv).
#pragma once

#include <string>
#include <vector>

namespace claa {

// Every record's fields (the header is the first record). claa::Error "WHERE: line N: ..." on an
// unterminated quote or a character after a closing quote; a trailing line break ends the last record.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& where);

}  // namespace claa
