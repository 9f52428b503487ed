// Groups of token ids: read from a safetensors or HDF5 file of integer
// tensors named *_token_ids (in natural name order: bh1, bh2, ..., bh10), given
// on the command line, or written (bh1_token_ids, ...) by `blackholes`.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/output_format.hpp"

namespace latdisp {

// Group tensors are named by this suffix: bh1_token_ids, bh2_token_ids, ...
inline const std::string kTokenIdsSuffix = "_token_ids";

// The name `blackholes` gives its `index`-th group (0-based): "bh1_token_ids".
inline std::string blackhole_group_name(size_t index) { return "bh" + std::to_string(index + 1) + kTokenIdsSuffix; }

// A group name without the suffix, for tables: "bh1_token_ids" -> "bh1".
std::string short_group_name(const std::string& name);

struct TokenGroup {
  std::string name;             // "bh1_token_ids", or "token 17" for --tokens
  std::vector<int64_t> tokens;  // as stored; tokens[0] is the representative
};

// Natural order: digit runs compare as numbers ("bh2" < "bh10").
bool natural_less(const std::string& a, const std::string& b);

// Reads every *_token_ids tensor (1-D, any integer dtype), ordered by name.
// Independent (no MPI). Throws Error(kExitInput).
std::vector<TokenGroup> read_token_groups(const std::string& path);

// "17,42,99": one group per token. Throws Error(kExitUsage).
std::vector<TokenGroup> groups_from_token_list(const std::string& list);

// "0,5,7-9": ascending-as-given list of non-negative integers. Throws Error(kExitUsage).
std::vector<int64_t> parse_index_list(const std::string& list, const std::string& option);

// Every group non-empty, every id in [0, rows). Throws Error(kExitInput).
void check_token_groups(const std::vector<TokenGroup>& groups, int64_t rows, const std::string& matrix);

// Collective: the groups of --groups FILE or --tokens LIST (exactly one
// non-empty), read on every rank; every rank throws the same Error.
std::vector<TokenGroup> load_token_groups(const std::string& groups_path, const std::string& token_list, MPI_Comm comm);

// Writes groups as NAME (int64, 1-D) tensors in `format`, no times stored.
// Independent (one rank). Throws Error(kExitOutput).
void write_token_groups(const std::string& path, OutputFormat format, const std::vector<TokenGroup>& groups,
                        const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace latdisp
