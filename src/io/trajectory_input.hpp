// The one way a command opens its trajectory input: W and, when the command
// reads more than W, the other tensors recorded beside it in the same input
// (the optimizer audit's gradient and moments), each with its own reader,
// all checked to be aligned (one shape: the same steps, tokens and dims),
// and the dead mask. Every format of docs/formats.md §1-§7 alike.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/element_recognition.hpp"
#include "io/trajectory_reader.hpp"

namespace latdisp {

// What is read: the input (a file or a checkpoint series) and its dead mask.
struct TrajectoryInputSpec {
  std::string path;                     // a file, or a checkpoint series
  std::string dead_mask = "dead_mask";  // NAME in the input, or FILE:NAME (io/trajectory_reader.hpp)
  ElementRequest request;               // the element formats accepted
  bool skip_incomplete = false;         // a series leaves out checkpoints not complete yet
  // Who reads the tensors after the first, for their messages ("the
  // optimizer audit needs ..."); unused when only one tensor is opened.
  std::string reader_name = "latdisp";
};

// One tensor of the input, and how messages name it.
struct NamedTensor {
  std::string name;    // the dataset or tensor name in the input
  std::string role;    // what it is: "W", "the gradient", ...
  std::string option;  // the option that names it: "--dataset", "--grad", ...
};

struct TrajectoryInput {
  // One reader per tensor asked for, in that order; all of one shape.
  std::vector<std::unique_ptr<TrajectoryReader>> readers;
  // 0/1 per token; all live (0) when the input has none (dead_mask_found false).
  std::vector<uint8_t> dead_mask;
  bool dead_mask_found = false;

  const TrajectoryReader& w() const { return *readers.front(); }
};

// Collective: opens `tensors` (at least one; the first is W) of the input
// `spec` names, and W's dead mask. W's errors are open_trajectory's; another
// tensor that cannot be opened gives "READER needs ROLE (OPTION 'NAME'):
// why" (a missing name lists what the input holds), one of another shape
// "ROLE 'NAME' has shape [...]; W 'NAME' has [...] ...". Throws the same
// Error on every rank.
TrajectoryInput open_trajectory_input(MPI_Comm comm, const TrajectoryInputSpec& spec,
                                      const std::vector<NamedTensor>& tensors);

}  // namespace latdisp
