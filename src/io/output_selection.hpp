// Which tensors `analyze --output` writes (--outputs; docs/formats.md).
#pragma once

#include <string>

namespace latdisp {

// Which tensors to write (--outputs).
struct OutputSelection {
  bool delta = true;       // delta_W_prime
  bool ulp = true;         // U
  bool crossings = true;   // exponent_crossings
  bool dead_mask = true;   // dead_mask, dead_token_ids
  bool scalars = true;     // n_steps, n_tokens, n_dims, n_dead
  bool exceptions = true;  // exceptions (index, value, kind)
};

// "all" or a comma-separated list of the names above; throws Error(kExitUsage).
OutputSelection parse_output_selection(const std::string& list);

}  // namespace latdisp
