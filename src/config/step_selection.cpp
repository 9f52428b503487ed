#include "config/step_selection.hpp"

#include <vector>

#include "parallel/errors.hpp"

namespace latdisp {

StepSelection parse_step_selection(const std::string& text) {
  StepSelection selection;
  if (text == "all") return selection;
  std::vector<int64_t> parts;
  size_t begin = 0;
  for (;;) {
    const size_t colon = text.find(':', begin);
    const std::string part = text.substr(begin, colon == std::string::npos ? std::string::npos : colon - begin);
    if (part.empty() || part.size() > 18 || part.find_first_not_of("0123456789") != std::string::npos)
      fail(kExitUsage, "--steps takes all, A:B or A:B:K (non-negative integers, B inclusive), not '" + text + "'");
    parts.push_back(std::stoll(part));
    if (colon == std::string::npos) break;
    begin = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    fail(kExitUsage, "--steps takes all, A:B or A:B:K (non-negative integers, B inclusive), not '" + text + "'");
  selection.first = parts[0];
  selection.last = parts[1];
  if (parts.size() == 3) selection.stride = parts[2];
  if (selection.last < selection.first) fail(kExitUsage, "--steps " + text + ": the last step is before the first");
  if (selection.stride < 1) fail(kExitUsage, "--steps " + text + ": the stride must be at least 1");
  return selection;
}

}  // namespace latdisp
