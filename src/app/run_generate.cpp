#include "app/run_generate.hpp"

#include "io/output_file.hpp"
#include "parallel/errors.hpp"
#include "parallel/partition.hpp"
#include "synthetic/demo_matrix.hpp"
#include "synthetic/generate.hpp"
#include "synthetic/synthetic_trajectory.hpp"

namespace latdisp {

int run_generate(const GenerateConfig& options, MPI_Comm comm) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  require_a_token_per_rank(options.tokens, ranks);
  const TrajectoryModel model{options.seed, options.dead_fraction, options.special, options.decay_steps, options.floor};
  const int64_t block_steps = generate_block_steps(options, token_range(options.tokens, 0, ranks).count, comm);
  PendingOutput output(comm, options.output, options.overwrite, "--output");
  write_trajectory(options, model, block_steps, output.temporary_path(), comm);
  output.commit();
  if (rank == 0) print_generate_summary(options);
  return kExitOk;
}

int run_generate_matrix(const GenerateConfig& options, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  const DemoMatrixModel model = demo_matrix_model(options);
  const PlantedGroups planted = planted_groups(model);
  const DemoMatrixHeader header = demo_matrix_header(options, model, planted);
  PendingOutput output(comm, options.output, options.overwrite, "--output");
  write_demo_matrix(model, planted, header, output.temporary_path(), comm);
  output.commit();
  if (rank == 0) print_matrix_summary(options, model, planted);
  return kExitOk;
}

}  // namespace latdisp
