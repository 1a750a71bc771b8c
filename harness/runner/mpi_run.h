// `mpirun -np K claa run CONFIG` (or `srun --mpi=pmix …`): K ranks share one run.
//
// Design (README "Running on many GPUs / nodes"):
//  - Each rank is an ordinary `claa run --shard rank/K` into its own folder OUT/shard-R-of-K (its
//    own lock, run.json and samples.jsonl, appended and fsynced per sample), so a rank that dies
//    loses only the sample it was working on, and `--resume` continues every shard exactly where
//    it stopped — the single-process resume logic, unchanged.
//  - Before anything runs, the ranks exchange (MPI all-gather) a description of the job: a hash
//    of the resolved config, the model file's hash, the output folder, --resume/--limit. Any
//    rank that differs from rank 0, or failed to load its config, stops the whole job with one
//    line naming the rank and what differs. Rank 0 also holds OUT's lock for the job.
//  - When every rank has finished, they exchange their status; rank 0 joins the shards into
//    OUT/samples.jsonl with the `claa merge` code (each sample once, in run order) and writes the
//    reports. If a rank failed, nothing is merged and rank 0 says which rank failed and how to
//    resume. OUT must be on a filesystem every rank sees (NFS, Lustre: as for any cluster job).
//  - Devices: see rank_device (mpi_world.h); CPU threads: rank_threads.
#pragma once

#include <string>
#include <vector>

#include "harness/runner/runner.h"

namespace claa {

struct MpiRunArgs {
  std::string config;
  std::vector<std::string> overrides;
  RunOptions options;          // out, resume, limit, reports (shard must be left 0/1)
  bool shard_given = false;    // --shard on the command line: refused under MPI
};

// The folder rank R of K writes to.
std::string shard_folder(const std::string& out, int rank, int size);

// Runs this rank's part; returns the process exit code. Rank 0 prints the outcome (and any error,
// as one line); other ranks print only their progress.
int run_experiment_mpi(const MpiRunArgs& args);

}  // namespace claa
