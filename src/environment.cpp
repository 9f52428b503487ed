#include "environment.hpp"

#include <Kokkos_Core.hpp>

#include <hdf5.h>

#include <cstring>

namespace latdisp {

Environment::Environment(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m_size);
  // Errors become one message from rank 0, never an abort on one rank.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // Kokkos sees only its own --kokkos-* arguments: on `--help` it would
  // print its own banner.
  m_kokkos_arguments.push_back(argv[0]);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--kokkos-", 9) == 0) m_kokkos_arguments.push_back(argv[i]);
  int kokkos_argc = static_cast<int>(m_kokkos_arguments.size());
  Kokkos::initialize(kokkos_argc, m_kokkos_arguments.data());
}

Environment::~Environment() {
  Kokkos::finalize();
  MPI_Finalize();
}

}  // namespace latdisp
