#include "app/run_pack.hpp"

#include "convert/pack.hpp"
#include "io/output_file.hpp"
#include "io/trajectory_reader.hpp"
#include "parallel/clock.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"

namespace latdisp {

int run_pack(const PackConfig& options, MPI_Comm comm) {
  const Clock::time_point start = Clock::now();
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  // The output is refused now if it cannot be written (or is an input), not after the reading.
  check_outputs(comm, {{"--output", options.output}}, input_files_of(options.input.path, options.input.dead_mask),
                options.overwrite);
  const PackInput input = open_pack_input(options, comm);
  const TrajectoryShape shape = input.reader->shape();
  const int64_t max_slab = token_range(shape.tokens, 0, ranks).count;
  const int64_t block_steps =
      pack_block_steps(options, comm, shape.steps, max_slab, shape.dims, input.reader->element_bytes());
  PendingOutput output(comm, options.output, options.overwrite, "--output");
  write_packed(options, input, block_steps, output.temporary_path(), comm);
  output.commit();
  if (rank == 0) print_pack_summary(options, input, seconds_since(start), ranks);
  return kExitOk;
}

}  // namespace latdisp
