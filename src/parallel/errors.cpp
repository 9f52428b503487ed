#include "parallel/errors.hpp"

#include <new>
#include <vector>

namespace latdisp {

void check_mpi(int status, const char* what) {
  if (status != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, text, &length);
    fail(kExitInput, std::string(what) + ": " + std::string(text, length));
  }
}

void collectively(MPI_Comm comm, const std::function<void()>& body) {
  int exit_code = kExitOk;
  std::string message;
  try {
    body();
  } catch (const Error& e) {
    exit_code = e.exit_code();
    message = e.what();
  } catch (const std::bad_alloc&) {
    exit_code = kExitUsage;
    message = "out of memory: lower --memory-budget or use more ranks";
  } catch (const std::exception& e) {
    exit_code = kExitInput;
    message = e.what();
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  struct {
    int failed_first;  // 0 if this rank failed, so MINLOC finds the lowest failing rank
    int rank;
  } mine{exit_code == kExitOk ? 1 : 0, rank}, lowest{};
  MPI_Allreduce(&mine, &lowest, 1, MPI_2INT, MPI_MINLOC, comm);
  if (lowest.failed_first == 1) return;

  int code_and_length[2] = {exit_code, static_cast<int>(message.size())};
  MPI_Bcast(code_and_length, 2, MPI_INT, lowest.rank, comm);
  std::vector<char> text(static_cast<size_t>(code_and_length[1]));
  if (rank == lowest.rank) text.assign(message.begin(), message.end());
  if (!text.empty()) MPI_Bcast(text.data(), code_and_length[1], MPI_CHAR, lowest.rank, comm);
  throw Error(code_and_length[0], std::string(text.begin(), text.end()));
}

}  // namespace latdisp
