#include "analysis/save_results.hpp"

#include <Kokkos_Core.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "kokkos_kernels/encode_block.hpp"
#include "parallel/errors.hpp"
#include "io/file_names.hpp"
#include "parallel/memory.hpp"
#include "io/result_writer.hpp"
#include "analysis/step_block_plan.hpp"
#include "io/step_stream.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

namespace {

int bytes_of(const std::string& dtype) {
  if (dtype == "int8") return 1;
  if (dtype == "int16") return 2;
  if (dtype == "int32") return 4;
  return 8;
}

// Narrows the kernel's int64 integers to the dtype (they fit, or are exceptions).
void narrow(const int64_t* from, size_t count, int bytes, std::vector<unsigned char>& to) {
  to.resize(count * static_cast<size_t>(bytes));
  for (size_t i = 0; i < count; ++i) {
    const int64_t v = from[i];
    switch (bytes) {
      case 1: {
        const int8_t x = static_cast<int8_t>(v);
        std::memcpy(&to[i], &x, 1);
        break;
      }
      case 2: {
        const int16_t x = static_cast<int16_t>(v);
        std::memcpy(&to[2 * i], &x, 2);
        break;
      }
      case 4: {
        const int32_t x = static_cast<int32_t>(v);
        std::memcpy(&to[4 * i], &x, 4);
        break;
      }
      default:
        std::memcpy(&to[8 * i], &v, 8);
    }
  }
}

}  // namespace

SaveSummary save_results(const AnalyzeOptions& options, const std::string& temporary_path, const std::string& dtype,
                         MPI_Comm comm) {
  const auto start = std::chrono::steady_clock::now();
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  SaveSummary summary;
  summary.path = options.output;
  summary.format = is_safetensors_name(options.output) ? "safetensors" : "hdf5";
  summary.dtype = dtype;
  const int integer_bytes = bytes_of(dtype);
  const int width = integer_bytes == 1   ? bf16::kInt8
                    : integer_bytes == 2 ? bf16::kInt16
                    : integer_bytes == 4 ? bf16::kInt32
                                         : bf16::kInt64;

  std::vector<uint8_t> dead_mask;
  bool dead_mask_found = false;
  const std::unique_ptr<TrajectoryReader> reader =
      open_trajectory(comm, options.input, options.dataset, options.dead_mask, dead_mask, dead_mask_found);
  const TrajectoryShape shape = reader->shape();

  ResultLayout layout;
  layout.shape = shape;
  layout.slab = token_range(shape.tokens, rank, ranks);
  layout.integer_bytes = integer_bytes;
  layout.selection = parse_output_selection(options.outputs);
  layout.dead_mask = dead_mask;
  for (int64_t n = 0; n < shape.tokens; ++n)
    if (dead_mask[static_cast<size_t>(n)]) layout.dead_token_ids.push_back(n);
  layout.provenance = {{"source", options.input},
                       {"dataset", options.dataset},
                       {"arithmetic", options.arithmetic},
                       {"epsilon", std::to_string(options.epsilon)},
                       {"zero_ulp", options.zero_ulp},
                       {"delta_dtype", dtype},
                       {"exception_kinds", "1 almost, 2 half, 3 non_integer, 4 nonfinite, 5 out of the dtype's range"},
                       {"latdisp_version", LATDISP_VERSION}};
  const TokenRange& slab = layout.slab;
  const int64_t max_slab = token_range(shape.tokens, 0, ranks).count;

  // Block size: values, encoded outputs and the narrowed copy per coordinate,
  // and MPI-IO's buffers for the collective read and writes (the values, U,
  // the crossings and the narrowed integers once more).
  const uint64_t copies = kSeparateDeviceMemory ? 2 : 1;
  const uint64_t per_step = static_cast<uint64_t>(slab.count * shape.dims) *
                            (copies * (2 + 8 + 1 + 1 + 2) + 2 * static_cast<uint64_t>(integer_bytes) + 2 + 2 + 1);
  const uint64_t budget =
      options.memory_budget.empty() ? default_memory_budget(comm) : parse_byte_size(options.memory_budget);
  const uint64_t reserved = baseline_rss_bytes() + kLibraryMarginBytes;
  int64_t block_steps =
      budget > reserved ? static_cast<int64_t>((budget - reserved) / std::max<uint64_t>(per_step, 1)) : 0;
  block_steps = std::min<int64_t>(
      {block_steps, shape.steps,
       std::max<int64_t>(2, static_cast<int64_t>(4 * kPreferredBlockBytes / std::max<uint64_t>(1, per_step)))});
  if (options.max_steps_per_block > 0) block_steps = std::min(block_steps, options.max_steps_per_block);
  MPI_Allreduce(MPI_IN_PLACE, &block_steps, 1, MPI_INT64_T, MPI_MIN, comm);
  if (block_steps < 2)
    fail(kExitUsage, "--memory-budget " + format_bytes(budget) + " is too small to save two steps of this slab");

  std::unique_ptr<ResultWriter> writer;
  collectively(comm, [&] {
    writer = summary.format == "safetensors" ? create_safetensors_writer(comm, temporary_path, layout)
                                             : create_hdf5_writer(comm, temporary_path, layout);
  });

  KernelSettings settings;
  settings.arithmetic = options.arithmetic == "seed" ? Arithmetic::seed : Arithmetic::exact;
  settings.epsilon = options.epsilon;
  settings.zero_ulp = options.zero_ulp == "min-subnormal" ? bf16::ZeroUlp::min_subnormal : bf16::ZeroUlp::min_normal;

  using Layout = Kokkos::LayoutRight;
  // Allocated inside collectively(): running out of memory on one rank is one agreed error.
  Kokkos::View<uint16_t***, Layout, DeviceMemory> values;
  decltype(values)::HostMirror host_values;
  EncodedBlock encoded;
  decltype(encoded.integers)::HostMirror host_integers;
  decltype(encoded.kinds)::HostMirror host_kinds;
  decltype(encoded.crossed)::HostMirror host_crossed;
  decltype(encoded.ulps)::HostMirror host_ulps;
  collectively(comm, [&] {
    values = decltype(values)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::save::values"), block_steps,
                              slab.count, shape.dims);
    host_values = Kokkos::create_mirror_view(values);
    encoded.integers =
        decltype(encoded.integers)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::save::integers"),
                                   block_steps - 1, slab.count, shape.dims);
    encoded.kinds = decltype(encoded.kinds)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::save::kinds"),
                                            block_steps - 1, slab.count, shape.dims);
    encoded.crossed = decltype(encoded.crossed)(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::save::crossed"), block_steps - 1, slab.count,
        shape.dims);
    encoded.ulps = decltype(encoded.ulps)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "latdisp::save::ulps"),
                                          block_steps, slab.count, shape.dims);
    host_integers = Kokkos::create_mirror_view(encoded.integers);
    host_kinds = Kokkos::create_mirror_view(encoded.kinds);
    host_crossed = Kokkos::create_mirror_view(encoded.crossed);
    host_ulps = Kokkos::create_mirror_view(encoded.ulps);
  });

  std::vector<ExceptionRecord> exceptions;
  std::vector<unsigned char> narrowed;
  const int64_t step_values = slab.count * shape.dims;
  StepStream stream(*reader, slab, max_slab, block_steps, host_values.data());
  StepBlock step_block;
  while (stream.next(step_block)) {
    const int64_t first_step = step_block.first_step, count = step_block.steps;
    const std::pair<int64_t, int64_t> steps(0, count), transitions(0, count - 1);
    auto block = Kokkos::subview(values, steps, Kokkos::ALL, Kokkos::ALL);
    if (kSeparateDeviceMemory) Kokkos::deep_copy(block, Kokkos::subview(host_values, steps, Kokkos::ALL, Kokkos::ALL));
    EncodedBlock part{Kokkos::subview(encoded.integers, transitions, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(encoded.kinds, transitions, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(encoded.crossed, transitions, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(encoded.ulps, steps, Kokkos::ALL, Kokkos::ALL)};
    encode_block(block, settings, width, part);
    Kokkos::deep_copy(host_integers, encoded.integers);
    Kokkos::deep_copy(host_kinds, encoded.kinds);
    Kokkos::deep_copy(host_crossed, encoded.crossed);
    Kokkos::deep_copy(host_ulps, encoded.ulps);

    const int64_t block_transitions = count - 1;
    const size_t coordinates = static_cast<size_t>(block_transitions * step_values);
    for (size_t i = 0; i < coordinates; ++i) {
      const uint8_t kind = host_kinds.data()[i];
      if (kind == kNoException) continue;
      const int64_t t = static_cast<int64_t>(i) / step_values, n = (static_cast<int64_t>(i) / shape.dims) % slab.count,
                    d = static_cast<int64_t>(i) % shape.dims;
      const uint16_t b = host_values(t, n, d), a = host_values(t + 1, n, d);
      double value = std::numeric_limits<double>::quiet_NaN();
      if (settings.arithmetic == Arithmetic::seed)
        value = static_cast<double>(bf16::seed_displacement(a, b));
      else if (kind != kExceptionNonfinite)
        value = bf16::to_double(bf16::exact_displacement(a, b, settings.zero_ulp));
      exceptions.push_back(ExceptionRecord{first_step + t, slab.begin + n, d, value, static_cast<int8_t>(kind)});
    }
    narrow(host_integers.data(), coordinates, integer_bytes, narrowed);
    collectively(comm, [&] {
      writer->write_delta(first_step, block_transitions, narrowed.data());
      writer->write_ulp(first_step, step_block.final ? count : block_transitions, host_ulps.data());
      writer->write_crossings(first_step, block_transitions, host_crossed.data());
    });
  }

  // Ordered by token, then step, then dim: slabs are contiguous token ranges
  // in rank order, so the table is the same for any rank count.
  std::sort(exceptions.begin(), exceptions.end(), [](const ExceptionRecord& x, const ExceptionRecord& y) {
    return std::tie(x.token, x.step, x.dim) < std::tie(y.token, y.step, y.dim);
  });
  int64_t local = static_cast<int64_t>(exceptions.size()), offset = 0, total = 0;
  MPI_Exscan(&local, &offset, 1, MPI_INT64_T, MPI_SUM, comm);
  if (rank == 0) offset = 0;
  MPI_Allreduce(&local, &total, 1, MPI_INT64_T, MPI_SUM, comm);
  collectively(comm, [&] {
    writer->write_exceptions(exceptions, offset, total);
    writer->close();
  });
  summary.exceptions = total;
  struct stat info {};
  if (rank == 0 && stat(temporary_path.c_str(), &info) == 0) summary.bytes = static_cast<uint64_t>(info.st_size);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace latdisp
