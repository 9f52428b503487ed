// Reading HDF5 inputs: opening with the truncation check, dataset extents,
// the allocation check, and the one hyperslab read every HDF5 reader uses.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_handles.hpp"

namespace latdisp {

// Collective over `comm` (MPI-IO driver). Checks the path first (regular,
// readable), then that the file is HDF5 and not truncated. `collective_metadata`
// false when single ranks will read on their own (inspect's rows).
// Throws Error(kExitInput) naming `role` and the path.
Hdf5Handle open_hdf5_input(MPI_Comm comm, const std::string& path, const std::string& role,
                           bool collective_metadata = true);

// A link of that name exists in the file (errors cleared).
bool hdf5_link_exists(hid_t file, const std::string& name);

// Names of the datasets in the root group of an open HDF5 file, sorted.
std::vector<std::string> hdf5_root_datasets(hid_t file);

// "A, B, C" for messages: at most `limit` names, then "(and N more)"; "" if none.
std::string names_text(const std::vector<std::string>& names, size_t limit = 20);

// The extent of a dataset, slowest dimension first.
std::vector<int64_t> hdf5_dataset_extent(hid_t dataset);

// Throws Error(kExitInput) if the dataset's storage was never written:
// unallocated, or chunked with chunks missing (naming the steps affected when
// axis 0 counts steps). `what` names the dataset in the message.
void require_written_storage(hid_t dataset, const std::string& what);

// Reads the box [start, start + count) of `dataset` into `buffer` (C order),
// collectively or independently; a box with any zero extent selects nothing
// (a collective call still takes part). Returns the HDF5 status.
herr_t read_hyperslab(hid_t dataset, hid_t memory_type, const std::vector<hsize_t>& start,
                      const std::vector<hsize_t>& count, void* buffer, bool collective);

}  // namespace latdisp
