// Owning wrappers for HDF5 identifiers and the helpers every HDF5 caller needs.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <string>
#include <vector>

namespace latdisp {

// Closes an hid_t with the matching H5*close on destruction.
class Hdf5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Hdf5Handle() = default;
  Hdf5Handle(hid_t id, Closer closer) : m_id(id), m_closer(closer) {}
  Hdf5Handle(Hdf5Handle&& other) noexcept : m_id(other.m_id), m_closer(other.m_closer) { other.m_id = -1; }
  Hdf5Handle& operator=(Hdf5Handle&& other) noexcept;
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  ~Hdf5Handle() { reset(); }

  void reset();
  // Gives up ownership without closing.
  hid_t release() {
    const hid_t id = m_id;
    m_id = -1;
    return id;
  }
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }

 private:
  hid_t m_id = -1;
  Closer m_closer = nullptr;
};

// The innermost message of HDF5's current error stack ("" if none).
std::string hdf5_error_text();

// File access / transfer property lists for MPI-IO with collective transfers.
Hdf5Handle mpio_file_access(MPI_Comm comm);
Hdf5Handle collective_transfer();

// h5py's boolean type: an enum over int8 with FALSE = 0, TRUE = 1.
Hdf5Handle h5py_bool_type();

// Every object latdisp creates goes through these three, so none carries a
// creation or modification time and a file's bytes depend on its data alone
// (two runs on the same input write the same file).
// A file creation property list whose root group keeps no times.
Hdf5Handle untimed_file_creation();
// A group with no times. Throws Error(kExitOutput).
Hdf5Handle create_output_group(hid_t parent, const std::string& name);
// An output dataset with no fill values, its space allocated up front and no
// times; `dims` empty: a scalar; `chunk` empty: contiguous. Throws Error(kExitOutput).
Hdf5Handle create_output_dataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                                 const std::vector<hsize_t>& chunk = {});

// Writes a fixed-length string attribute NAME = VALUE on `object`; the
// status of the create and write (< 0 on failure), for the caller to check.
herr_t write_string_attribute(hid_t object, const std::string& name, const std::string& value);

// The dataspaces of the box [start, start + count) of a dataset: the memory
// space has the box's shape (HDF5's fastest collective path); an empty box
// selects nothing in both, so its rank still takes part in a collective
// transfer. `selected` is false if HDF5 refused the box.
struct BoxSpaces {
  Hdf5Handle file;
  Hdf5Handle memory;
  bool selected = true;
};
BoxSpaces box_spaces(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count);

// A printable description of a datatype, e.g. "float32", "uint16 (big-endian)".
std::string describe_type(hid_t type);

}  // namespace latdisp
