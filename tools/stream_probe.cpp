// Read-bandwidth probe for the benchmark: streams a buffer of uint16 values
// (as the kernel streams W) on every MPI rank at once and reports GB/s, the
// memory-bandwidth ceiling the analysis's coordinates/s is compared with.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const size_t values = (size_t(512) << 20) / sizeof(uint16_t);  // 512 MiB per rank
  std::vector<uint16_t> buffer(values);
  for (size_t i = 0; i < values; ++i) buffer[i] = static_cast<uint16_t>(i * 2654435761u);
  double best = 1e30;
  uint64_t checksum = 0;
  for (int repeat = 0; repeat < 5; ++repeat) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = std::chrono::steady_clock::now();
    uint64_t sum = 0;
    for (size_t i = 0; i < values; ++i) sum += buffer[i];
    checksum += sum;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (seconds < best) best = seconds;
  }
  if (rank == 0)
    std::printf("{\"ranks\": %d, \"read_bytes_per_s\": %.6g, \"checksum\": %llu}\n", ranks,
                static_cast<double>(values * sizeof(uint16_t)) * ranks / best,
                static_cast<unsigned long long>(checksum % 1000));
  MPI_Finalize();
  return 0;
}
