// The MPI job a `claa run` may be part of (`mpirun -np K claa run …`, or `srun --mpi=pmix` under
// Slurm). Only this header's .cpp includes <mpi.h>, so nothing else depends on MPI, and a build
// without MPI (CLAA_WITH_MPI unset) still compiles: launched_by_mpi() then still answers, and
// MpiWorld's constructor refuses with a one-line error instead of running K copies of one job.
// Torch-free.
#pragma once

#include <string>
#include <vector>

namespace claa {

// True when an MPI launcher started this process (Open MPI's mpirun/mpiexec, PMIx or PMI, e.g.
// srun --mpi=pmix), read from the environment before any MPI call. Plain `claa run` never calls
// MPI at all — not even MPI_Init — so it behaves exactly as without MPI.
bool launched_by_mpi();
// Throws claa::Error when Slurm started several tasks of this step without an MPI plugin
// (srun without --mpi=pmix): each would otherwise run the whole job into the same folder.
void refuse_srun_without_mpi();
// Whether this binary was built with MPI.
bool built_with_mpi();

class MpiWorld {
 public:
  // MPI_Init_thread (funneled: only the main thread calls MPI) and the node-local communicator
  // (MPI_Comm_split_type shared), which gives the local rank the launcher-independent way: the
  // same under mpirun and srun. Throws claa::Error without MPI support.
  MpiWorld();
  ~MpiWorld();  // MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the ranks on this node
  int local_size() const { return local_size_; }

  // Every rank's string, in rank order, on every rank (also a barrier).
  std::vector<std::string> all_gather(const std::string& mine) const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  void* local_comm_ = nullptr;  // MPI_Comm, kept opaque so this header needs no <mpi.h>
};

// The device a rank runs on. "cuda" means "cuda:0"; cuda indices in a config count from the
// rank's own group of GPUs: with k cuda devices per rank (k = 1 for model.device, the length of
// model.devices for a layer split), cuda:i on the rank with local rank r becomes
// cuda:((r·k + i) mod visible). So `"device": "cuda"` spreads ranks over a node's GPUs, and
// `"devices": ["cuda:0", "cuda:1"]` gives each rank its own pair. "cpu" stays "cpu"; with no
// visible GPU the name is kept (the model load then reports that CUDA is missing).
std::string rank_device(const std::string& configured, int local_rank, int devices_per_rank, int visible_gpus);
// CPU threads for a rank when the config leaves model.threads at 0: the cores this process may
// run on, shared evenly by the ranks of its node (at least 1). `affinity_cores` is what the
// launcher's binding allows (sched_getaffinity), `node_cores` all of the node's cores.
int rank_threads(int affinity_cores, int node_cores, int local_size);

}  // namespace claa
