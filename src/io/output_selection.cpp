#include "io/output_selection.hpp"

#include <sstream>

#include "parallel/errors.hpp"

namespace latdisp {

OutputSelection parse_output_selection(const std::string& list) {
  if (list.empty() || list == "all") return OutputSelection{};
  OutputSelection s{false, false, false, false, false, false};
  std::stringstream items(list);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item == "delta_W_prime")
      s.delta = true;
    else if (item == "U")
      s.ulp = true;
    else if (item == "exponent_crossings")
      s.crossings = true;
    else if (item == "dead_mask" || item == "dead_token_ids")
      s.dead_mask = true;
    else if (item == "scalars" || item == "n_steps" || item == "n_tokens" || item == "n_dims" || item == "n_dead")
      s.scalars = true;
    else if (item == "exceptions")
      s.exceptions = true;
    else
      fail(kExitUsage, "--outputs: unknown tensor '" + item +
                           "' (choose from delta_W_prime, U, exponent_crossings, dead_mask, dead_token_ids, scalars, "
                           "exceptions, or all)");
  }
  return s;
}

}  // namespace latdisp
