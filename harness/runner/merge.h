// Joining shard folders (`claa run --shard i/n`, or the ranks of `mpirun … claa run`) into one
// run folder: each sample once, in run order (its global "index"), plus run.json. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace claa {

struct MergeOptions {
  // false (claa merge): refuse an `out` that already holds samples.jsonl. true (mpirun): the
  // merged file is derived from the shards, so a resumed MPI run writes it again (atomically).
  bool replace = false;
};

// Writes out/samples.jsonl, joins the folders' timings.jsonl and copies the first folder's run.json; throws claa::Error when a
// sample appears in two folders or a folder has no samples.jsonl. Returns the sample count.
int64_t merge_shards(const std::vector<std::string>& dirs, const std::string& out, const MergeOptions& options = {});

}  // namespace claa
