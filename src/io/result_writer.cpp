#include "io/result_writer.hpp"

namespace latdisp {

std::unique_ptr<ResultWriter> create_result_writer(OutputFormat format, MPI_Comm comm, const std::string& path,
                                                   const ResultLayout& layout) {
  return format == OutputFormat::safetensors ? create_safetensors_writer(comm, path, layout)
                                             : create_hdf5_writer(comm, path, layout);
}

}  // namespace latdisp
