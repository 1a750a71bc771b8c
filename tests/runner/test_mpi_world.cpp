// The pieces of `mpirun -np K claa run` that need no launcher: which device and how many threads
// a rank takes, where its shard goes, and how a launch is recognised.
#include <cstdlib>

#include "core/error.h"
#include "harness/runner/mpi_run.h"
#include "harness/runner/mpi_world.h"
#include "tests/catch.h"

TEST_CASE("ranks spread over a node's GPUs, each rank's own group under a layer split", "[runner][mpi]") {
  // One device per rank: local rank mod visible GPUs.
  CHECK(claa::rank_device("cuda", 0, 1, 4) == "cuda:0");
  CHECK(claa::rank_device("cuda", 3, 1, 4) == "cuda:3");
  CHECK(claa::rank_device("cuda", 5, 1, 4) == "cuda:1");
  CHECK(claa::rank_device("cuda:0", 2, 1, 8) == "cuda:2");
  CHECK(claa::rank_device("cuda", 1, 1, 1) == "cuda:0");  // Slurm's --gpus-per-task=1: one visible GPU
  // A split over two GPUs per rank: rank r takes GPUs 2r and 2r + 1.
  CHECK(claa::rank_device("cuda:0", 0, 2, 8) == "cuda:0");
  CHECK(claa::rank_device("cuda:1", 0, 2, 8) == "cuda:1");
  CHECK(claa::rank_device("cuda:0", 3, 2, 8) == "cuda:6");
  CHECK(claa::rank_device("cuda:1", 3, 2, 8) == "cuda:7");
  // CPU ranks, and CUDA named on a machine without GPUs (the model load then says so).
  CHECK(claa::rank_device("cpu", 3, 1, 4) == "cpu");
  CHECK(claa::rank_device("cuda:1", 3, 1, 0) == "cuda:1");
}

TEST_CASE("CPU ranks share the cores of their node", "[runner][mpi]") {
  CHECK(claa::rank_threads(2, 2, 2) == 1);     // mpirun -np 2 here, bound or not
  CHECK(claa::rank_threads(64, 64, 4) == 16);  // not bound: an even share
  CHECK(claa::rank_threads(1, 64, 4) == 1);    // bound to one core by the launcher
  CHECK(claa::rank_threads(32, 64, 8) == 8);   // bound to a socket shared by 4 ranks
  CHECK(claa::rank_threads(2, 2, 5) == 1);     // oversubscribed: at least one thread
  CHECK(claa::rank_threads(0, 16, 2) == 8);    // affinity unknown
}

TEST_CASE("each rank writes its own shard folder", "[runner][mpi]") {
  CHECK(claa::shard_folder("runs/x", 0, 2) == "runs/x/shard-0-of-2");
  CHECK(claa::shard_folder("runs/x/", 11, 16) == "runs/x/shard-11-of-16");
}

TEST_CASE("an MPI launch is recognised from the environment, srun without MPI is refused", "[runner][mpi]") {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_STEP_NUM_TASKS"}) unsetenv(v);
  CHECK_FALSE(claa::launched_by_mpi());
  CHECK_NOTHROW(claa::refuse_srun_without_mpi());
  setenv("SLURM_STEP_NUM_TASKS", "1", 1);  // one srun task: a plain run
  CHECK_NOTHROW(claa::refuse_srun_without_mpi());
  setenv("SLURM_STEP_NUM_TASKS", "4", 1);
  CHECK_THROWS_WITH(claa::refuse_srun_without_mpi(), Catch::Contains("srun --mpi=pmix"));
  setenv("PMIX_RANK", "2", 1);  // srun --mpi=pmix
  CHECK(claa::launched_by_mpi());
  CHECK_NOTHROW(claa::refuse_srun_without_mpi());
  unsetenv("PMIX_RANK");
  unsetenv("SLURM_STEP_NUM_TASKS");
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  CHECK(claa::launched_by_mpi());
  unsetenv("OMPI_COMM_WORLD_SIZE");
}
