// Where an HDF5 dataset's bytes really are: in the opened file, in another
// file behind an external link, or in external raw files. A mapped read is
// only right for the first; external raw files are checked before HDF5 reads
// them, because HDF5 reads a short one as zeros and waits on a FIFO forever
// (docs/formats.md, docs/operations.md §5).
#pragma once

#include <hdf5.h>

#include <string>

namespace latdisp {

// True if `dataset`'s raw bytes lie in `file` itself: the dataset belongs to
// that file (not reached through an external link) and has no external raw
// storage. Only then does H5Dget_offset locate its bytes in `file`.
bool dataset_bytes_in_file(hid_t file, hid_t dataset);

// Throws Error(kExitInput) unless every external raw file of `dataset` (if it
// has any) is a regular file that holds the part of the dataset it is listed
// for, resolved as HDF5 resolves it. `what` names the dataset in messages.
void require_readable_external_storage(hid_t dataset, const std::string& what);

}  // namespace latdisp
