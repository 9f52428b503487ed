#include "analysis/per_row_output.hpp"

#include <vector>

#include "kokkos_kernels/motion.hpp"

namespace latdisp {

int8_t row_regime_code(double magnitude, double radius) {
  return static_cast<int8_t>(row_regime(magnitude, radius));
}

PerRowOutput::PerRowOutput(MPI_Comm comm, const std::string& path, int64_t transitions, int64_t tokens,
                           TokenRange slab, double hop_radius)
    : m_file(comm, path, transitions, tokens), m_slab(slab), m_radius(hop_radius) {}

void PerRowOutput::add_block(int64_t first_transition, int64_t transitions, const double* magnitudes) {
  const size_t rows = static_cast<size_t>(transitions * m_slab.count);
  std::vector<int8_t> regimes(rows);
  for (size_t i = 0; i < rows; ++i) regimes[i] = row_regime_code(magnitudes[i], m_radius);
  m_file.write(first_transition, transitions, m_slab, magnitudes, regimes.data());
}

}  // namespace latdisp
