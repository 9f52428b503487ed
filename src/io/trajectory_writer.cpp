#include "io/trajectory_writer.hpp"

#include "io/element_storage.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// The dataset of training step numbers analyze reports as input.steps.
const char* const kStepsDataset = "steps";

}  // namespace

TrajectoryWriter::TrajectoryWriter(MPI_Comm comm, const std::string& path, const TrajectoryFileLayout& layout)
    : m_comm(comm),
      m_layout(layout),
      m_file(comm, path),
      m_value_type(hdf5_element_type(layout.type)),
      m_bool_type(h5py_bool_type()) {
  collectively(comm, [&] { create_datasets(layout); });
  m_file.reserve_space();
}

// In a fixed order (W, the dead mask, the step numbers), so that the file's
// bytes depend on its data alone.
void TrajectoryWriter::create_datasets(const TrajectoryFileLayout& layout) {
  const TrajectoryShape& shape = layout.shape;
  m_values = m_file.keep(create_output_dataset(
      m_file.get(), layout.dataset, m_value_type.get(),
      {static_cast<hsize_t>(shape.steps), static_cast<hsize_t>(shape.tokens), static_cast<hsize_t>(shape.dims)}));
  if (write_element_attribute(m_values, layout.type) < 0)
    fail(kExitOutput, "cannot write the dtype attribute of '" + layout.dataset + "': " + hdf5_error_text());
  if (!layout.dead_mask.empty())
    m_mask = m_file.keep(
        create_output_dataset(m_file.get(), layout.dead_mask, m_bool_type.get(), {static_cast<hsize_t>(shape.tokens)}));
  if (layout.step_numbers)
    m_steps = m_file.keep(
        create_output_dataset(m_file.get(), kStepsDataset, H5T_STD_I64LE, {static_cast<hsize_t>(shape.steps)}));
}

void TrajectoryWriter::write_dead_mask(const TokenRange& slab, const uint8_t* slab_mask) {
  m_file.write_box(m_mask, m_bool_type.get(), {static_cast<hsize_t>(slab.begin)}, {static_cast<hsize_t>(slab.count)},
                   slab_mask, "the dead mask");
}

void TrajectoryWriter::write_step_numbers(const std::vector<int64_t>& numbers) {
  int rank = 0;
  MPI_Comm_rank(m_comm, &rank);
  m_file.write_box(m_steps, H5T_NATIVE_INT64, {0}, {rank == 0 ? static_cast<hsize_t>(numbers.size()) : 0},
                   numbers.data(), "the step numbers");
}

void TrajectoryWriter::write_steps(const TokenRange& slab, int64_t first, int64_t count, const void* block) {
  m_file.write_box(m_values, m_value_type.get(), {static_cast<hsize_t>(first), static_cast<hsize_t>(slab.begin), 0},
                   {static_cast<hsize_t>(count), static_cast<hsize_t>(slab.count),
                    static_cast<hsize_t>(m_layout.shape.dims)},
                   block, "steps " + std::to_string(first) + ".." + std::to_string(first + count - 1));
}

}  // namespace latdisp
