// Personalized all-to-all of fixed-size records (MPI_Alltoallv), the way
// the bit-level commands route work to the rank that owns it.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <type_traits>
#include <vector>

namespace latdisp {

// What a rank received: records[offsets[r] .. offsets[r + 1]) came from rank r.
template <typename Record>
struct Received {
  std::vector<Record> records;
  std::vector<int64_t> offsets;  // ranks + 1 entries
};

namespace exchange_detail {
// Collective: counts (in records) to every rank in, counts from every rank
// out, with the displacements; throws the same Error(kExitUsage) on every
// rank if a count does not fit MPI's int.
struct Plan {
  std::vector<int> send_counts, send_displacements, receive_counts, receive_displacements;
  int64_t received = 0;
};
Plan plan_exchange(const std::vector<int64_t>& send_counts, MPI_Comm comm);
void run_exchange(const void* send, void* receive, const Plan& plan, size_t record_bytes, MPI_Comm comm);
// Collective: every rank's count; the total, checked to fit MPI's int.
std::vector<int> gather_counts(int64_t count, MPI_Comm comm, std::vector<int>& displacements, int64_t& total);
void run_allgather(const void* send, int count, void* receive, const std::vector<int>& counts,
                   const std::vector<int>& displacements, size_t record_bytes, MPI_Comm comm);
}  // namespace exchange_detail

// Collective: send[...] holds the records for rank 0, then rank 1, ...;
// counts[r] of them go to rank r (counts has one entry per rank).
// `received` is reused (its storage kept from call to call).
template <typename Record>
void exchange_records(const std::vector<Record>& send, const std::vector<int64_t>& counts, MPI_Comm comm,
                      Received<Record>& received) {
  static_assert(std::is_trivially_copyable<Record>::value, "records travel as bytes");
  const exchange_detail::Plan plan = exchange_detail::plan_exchange(counts, comm);
  received.records.resize(static_cast<size_t>(plan.received));
  exchange_detail::run_exchange(send.data(), received.records.data(), plan, sizeof(Record), comm);
  received.offsets.assign(1, 0);
  for (const int count : plan.receive_counts) received.offsets.push_back(received.offsets.back() + count);
}
template <typename Record>
Received<Record> exchange_records(const std::vector<Record>& send, const std::vector<int64_t>& counts, MPI_Comm comm) {
  Received<Record> received;
  exchange_records(send, counts, comm, received);
  return received;
}

// Collective: outgoing[r] goes to rank r (outgoing has one entry per rank).
template <typename Record>
Received<Record> exchange_records(const std::vector<std::vector<Record>>& outgoing, MPI_Comm comm) {
  static_assert(std::is_trivially_copyable<Record>::value, "records travel as bytes");
  std::vector<int64_t> counts;
  std::vector<Record> send;
  for (const std::vector<Record>& part : outgoing) {
    counts.push_back(static_cast<int64_t>(part.size()));
    send.insert(send.end(), part.begin(), part.end());
  }
  return exchange_records(send, counts, comm);
}

// Collective: every rank's records, in rank order, on every rank.
template <typename Record>
std::vector<Record> allgather_records(const std::vector<Record>& mine, MPI_Comm comm) {
  static_assert(std::is_trivially_copyable<Record>::value, "records travel as bytes");
  std::vector<int> displacements;
  int64_t total = 0;
  const std::vector<int> counts =
      exchange_detail::gather_counts(static_cast<int64_t>(mine.size()), comm, displacements, total);
  std::vector<Record> all(static_cast<size_t>(total));
  exchange_detail::run_allgather(mine.data(), static_cast<int>(mine.size()), all.data(), counts, displacements,
                                 sizeof(Record), comm);
  return all;
}

}  // namespace latdisp
