#include "harness/runner/mpi_world.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

#ifdef CLAA_WITH_MPI
// The C API only: no deprecated C++ bindings (Open MPI would otherwise need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace claa {

namespace {

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? 0 : std::atoi(v);
}

#ifdef CLAA_WITH_MPI
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw Error(std::string("MPI: ") + what + " failed (" + std::string(text, static_cast<size_t>(length)) + ")");
}
#endif

}  // namespace

bool launched_by_mpi() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx launchers (srun --mpi=pmix, prterun) set
  // PMIX_RANK; PMI-1/2 launchers (MPICH's hydra, srun --mpi=pmi2) PMI_RANK.
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK");
}

void refuse_srun_without_mpi() {
  // Inside an srun step (SLURM_STEP_NUM_TASKS is set per step, not in the batch script itself).
  if (launched_by_mpi() || env_int("SLURM_STEP_NUM_TASKS") <= 1) return;
  throw Error("srun started " + std::to_string(env_int("SLURM_STEP_NUM_TASKS")) +
              " tasks without MPI: launch with `srun --mpi=pmix claa run …` (or mpirun) so each task takes its shard");
}

bool built_with_mpi() {
#ifdef CLAA_WITH_MPI
  return true;
#else
  return false;
#endif
}

#ifdef CLAA_WITH_MPI

MpiWorld::MpiWorld() {
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  auto* local = new MPI_Comm;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, local),
        "MPI_Comm_split_type");
  local_comm_ = local;
  MPI_Comm_rank(*local, &local_rank_);
  MPI_Comm_size(*local, &local_size_);
}

MpiWorld::~MpiWorld() {
  auto* local = static_cast<MPI_Comm*>(local_comm_);
  if (local != nullptr) {
    MPI_Comm_free(local);
    delete local;
  }
  MPI_Finalize();
}

std::vector<std::string> MpiWorld::all_gather(const std::string& mine) const {
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  int total = 0;
  for (int r = 0; r < size_; ++r) offsets[static_cast<size_t>(r)] = total, total += lengths[static_cast<size_t>(r)];
  std::string all(static_cast<size_t>(total), '\0');
  check(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]),
                             static_cast<size_t>(lengths[static_cast<size_t>(r)])));
  return out;
}

#else

MpiWorld::MpiWorld() {
  throw Error(
      "this claa was built without MPI, but an MPI launcher started it: install libopenmpi-dev "
      "(scripts/setup.sh does) and rebuild, or run claa without mpirun");
}

MpiWorld::~MpiWorld() = default;

std::vector<std::string> MpiWorld::all_gather(const std::string& mine) const { return {mine}; }

#endif

std::string rank_device(const std::string& configured, int local_rank, int devices_per_rank, int visible_gpus) {
  if (configured != "cuda" && configured.rfind("cuda:", 0) != 0) return configured;
  if (visible_gpus <= 0) return configured;
  const int index = configured == "cuda" ? 0 : std::atoi(configured.c_str() + 5);
  const int k = std::max(1, devices_per_rank);
  return "cuda:" + std::to_string((local_rank * k + index) % visible_gpus);
}

int rank_threads(int affinity_cores, int node_cores, int local_size) {
  // A launcher that binds each rank to its own cores (Open MPI binds to a core for np <= 2) has
  // already divided them; one that binds to a socket, or not at all, leaves it to us.
  const int even_share = std::max(1, node_cores / std::max(1, local_size));
  return std::max(1, std::min(affinity_cores > 0 ? affinity_cores : node_cores, even_share));
}

}  // namespace claa
