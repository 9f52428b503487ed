// Reading safetensors inputs on many ranks: rank 0 parses a header and every
// rank gets it; tensors of bfloat16 bits, dead masks and step numbers.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.hpp"

namespace latdisp {

// Collective: rank 0 checks the path (regular, readable) and parses and
// validates the header; every rank returns it. Throws the same
// Error(kExitInput) on every rank; `role` names the file in messages.
SafetensorsFile broadcast_safetensors_header(MPI_Comm comm, const std::string& path, const std::string& role);

// Throws Error(kExitInput) unless `dtype` holds bfloat16 bits (BF16, or U16 /
// I16 bit patterns); floats are refused, never converted. `what` names the tensor.
void require_bfloat16_bits(const std::string& dtype, const std::string& what);

// Up to `limit` tensor names of the file, sorted, "a, b, c (and 97 more)".
std::string tensor_names_text(const SafetensorsFile& file, size_t limit = 12);

// Collective: the tensor `name` of `file` as a dead mask (BOOL, U8 or I8,
// shape (tokens,), values 0/1), read by rank 0 and broadcast; empty if the
// file has no such tensor. Throws the same Error(kExitInput) on every rank.
std::vector<uint8_t> read_safetensors_mask(MPI_Comm comm, const SafetensorsFile& file, const std::string& name,
                                           int64_t tokens, const std::string& tensor_of);

// Collective: the 1-D integer tensor `name` (the training step numbers) if
// it holds exactly `count` values; else empty.
std::vector<int64_t> read_safetensors_steps(MPI_Comm comm, const SafetensorsFile& file, const std::string& name,
                                            int64_t count);

// Exactly `size` bytes at `offset` of the regular file `path` (opened and
// closed here). Throws Error(kExitInput) on a short read.
void read_file_range(const std::string& path, int64_t offset, int64_t size, void* target);

}  // namespace latdisp
