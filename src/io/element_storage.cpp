#include "io/element_storage.hpp"

namespace latdisp {

Hdf5Handle hdf5_element_type(formats::ElementType type) {
  switch (type) {
    case formats::ElementType::f16: {
      Hdf5Handle f16(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
      H5Tset_fields(f16.get(), 15, 10, 5, 0, 10);
      H5Tset_size(f16.get(), 2);
      H5Tset_ebias(f16.get(), 15);
      return f16;
    }
    case formats::ElementType::f32:
      return Hdf5Handle(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
    case formats::ElementType::f8e4m3:
    case formats::ElementType::f8e5m2:
      return Hdf5Handle(H5Tcopy(H5T_STD_U8LE), H5Tclose);
    case formats::ElementType::bf16:
      break;
  }
  return Hdf5Handle(H5Tcopy(H5T_STD_U16LE), H5Tclose);
}

std::string hdf5_element_attribute(formats::ElementType type) {
  if (type == formats::ElementType::f8e4m3) return "float8_e4m3fn";
  if (type == formats::ElementType::f8e5m2) return "float8_e5m2";
  return "";
}

std::string safetensors_element_dtype(formats::ElementType type) {
  switch (type) {
    case formats::ElementType::f16:
      return "F16";
    case formats::ElementType::f32:
      return "F32";
    case formats::ElementType::f8e4m3:
      return "F8_E4M3";
    case formats::ElementType::f8e5m2:
      return "F8_E5M2";
    case formats::ElementType::bf16:
      break;
  }
  return "BF16";
}

herr_t write_element_attribute(hid_t dataset, formats::ElementType type) {
  const std::string declared = hdf5_element_attribute(type);
  return declared.empty() ? 0 : write_string_attribute(dataset, "dtype", declared);
}

}  // namespace latdisp
