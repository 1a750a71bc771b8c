// Replace a file all at once: write PATH.tmp.PID, fsync it, rename it over PATH. A reader (or a
// crash, a kill, a full disk) sees either the old file or the new one, never half of the new one —
// reports and summaries stay consistent with the samples next to them. Torch-free.
#pragma once

#include <string>
#include <string_view>

namespace claa {

// Throws claa::Error naming PATH and the system's reason; on failure PATH is untouched and the
// temporary file is removed.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace claa
