// How W of each element format is stored in the HDF5 files latdisp writes
// (docs/formats.md §19), so that the readers recognise it:
// bf16 as uint16 bits, f16 as IEEE float16 (h5py's type), f32 as float32,
// FP8 as uint8 bits with the attribute dtype = float8_e4m3fn / float8_e5m2.
#pragma once

#include <hdf5.h>

#include <string>

#include "io/hdf5_handles.hpp"
#include "kokkos_kernels/formats/element_type.hpp"

namespace latdisp {

// The file type of values of `type`; the memory type too (raw bytes, no conversion).
Hdf5Handle hdf5_element_type(formats::ElementType type);

// The `dtype` attribute an FP8 dataset needs ("" for the other formats).
std::string hdf5_element_attribute(formats::ElementType type);

// The safetensors dtype of values of `type`: BF16, F16, F32, F8_E4M3, F8_E5M2.
std::string safetensors_element_dtype(formats::ElementType type);

// Writes that attribute on `dataset` when the format needs one; the HDF5 status.
herr_t write_element_attribute(hid_t dataset, formats::ElementType type);

}  // namespace latdisp
