#include "parallel/exchange.hpp"

#include <climits>

#include "parallel/errors.hpp"

namespace latdisp {
namespace exchange_detail {

namespace {
std::vector<int> displacements_of(const std::vector<int>& counts) {
  std::vector<int> displacements;
  int64_t total = 0;
  for (const int count : counts) {
    displacements.push_back(static_cast<int>(total));
    total += count;
    if (total > INT_MAX) fail(kExitUsage, "too many records for one exchange: use more ranks or a smaller block");
  }
  return displacements;
}
}  // namespace

Plan plan_exchange(const std::vector<int64_t>& send_counts, MPI_Comm comm) {
  Plan plan;
  const size_t ranks = send_counts.size();
  plan.receive_counts.assign(ranks, 0);
  collectively(comm, [&] {
    for (const int64_t count : send_counts) {
      if (count > INT_MAX) fail(kExitUsage, "too many records for one exchange: use more ranks or a smaller block");
      plan.send_counts.push_back(static_cast<int>(count));
    }
  });
  check_mpi(MPI_Alltoall(plan.send_counts.data(), 1, MPI_INT, plan.receive_counts.data(), 1, MPI_INT, comm),
            "exchanging record counts");
  collectively(comm, [&] {
    plan.send_displacements = displacements_of(plan.send_counts);
    plan.receive_displacements = displacements_of(plan.receive_counts);
  });
  for (const int count : plan.receive_counts) plan.received += count;
  return plan;
}

std::vector<int> gather_counts(int64_t count, MPI_Comm comm, std::vector<int>& displacements, int64_t& total) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  int mine = 0;
  collectively(comm, [&] {
    if (count > INT_MAX) fail(kExitUsage, "too many records for one exchange: use more ranks or a smaller block");
    mine = static_cast<int>(count);
  });
  std::vector<int> counts(static_cast<size_t>(ranks));
  check_mpi(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm), "gathering record counts");
  collectively(comm, [&] { displacements = displacements_of(counts); });
  total = 0;
  for (const int c : counts) total += c;
  return counts;
}

namespace {
// Runs an MPI call with a contiguous datatype of `record_bytes` bytes.
template <typename Call>
void with_record_type(size_t record_bytes, const char* what, Call call) {
  MPI_Datatype record;
  MPI_Type_contiguous(static_cast<int>(record_bytes), MPI_BYTE, &record);
  MPI_Type_commit(&record);
  const int status = call(record);
  MPI_Type_free(&record);
  check_mpi(status, what);
}
}  // namespace

void run_exchange(const void* send, void* receive, const Plan& plan, size_t record_bytes, MPI_Comm comm) {
  with_record_type(record_bytes, "exchanging records", [&](MPI_Datatype record) {
    return MPI_Alltoallv(send, plan.send_counts.data(), plan.send_displacements.data(), record, receive,
                         plan.receive_counts.data(), plan.receive_displacements.data(), record, comm);
  });
}

void run_allgather(const void* send, int count, void* receive, const std::vector<int>& counts,
                   const std::vector<int>& displacements, size_t record_bytes, MPI_Comm comm) {
  with_record_type(record_bytes, "gathering records", [&](MPI_Datatype record) {
    return MPI_Allgatherv(send, count, record, receive, counts.data(), displacements.data(), record, comm);
  });
}

}  // namespace exchange_detail
}  // namespace latdisp
