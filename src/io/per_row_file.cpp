#include "io/per_row_file.hpp"

#include <vector>

#include "parallel/errors.hpp"

namespace latdisp {

PerRowFile::PerRowFile(MPI_Comm comm, const std::string& path, int64_t transitions, int64_t tokens)
    : m_file(comm, path) {
  const std::vector<hsize_t> dims{static_cast<hsize_t>(transitions), static_cast<hsize_t>(tokens)};
  collectively(comm, [&] {
    m_magnitude = m_file.keep(create_output_dataset(m_file.get(), "magnitude", H5T_IEEE_F64LE, dims));
    m_regime = m_file.keep(create_output_dataset(m_file.get(), "regime", H5T_STD_I8LE, dims));
  });
  m_file.reserve_space();
}

void PerRowFile::write(int64_t first_transition, int64_t count, const TokenRange& slab, const double* magnitude,
                       const int8_t* regime) {
  const std::vector<hsize_t> start{static_cast<hsize_t>(first_transition), static_cast<hsize_t>(slab.begin)};
  const std::vector<hsize_t> size{static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count)};
  const std::string rows = "rows of transitions " + std::to_string(first_transition) + ".." +
                           std::to_string(first_transition + count - 1);
  m_file.write_box(m_magnitude, H5T_NATIVE_DOUBLE, start, size, magnitude, "the magnitudes of the " + rows);
  m_file.write_box(m_regime, H5T_NATIVE_INT8, start, size, regime, "the regimes of the " + rows);
}

void PerRowFile::close() { m_file.close(); }

}  // namespace latdisp
