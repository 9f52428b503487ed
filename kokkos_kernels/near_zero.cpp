#include "kokkos_kernels/near_zero.hpp"

namespace latdisp {

NearZeroBlockOutputs::NearZeroBlockOutputs(int64_t max_transitions, int64_t items_per_transition)
    : bins("latdisp::near_zero::bins", 2, kStartBins, kBinFields),
      kinds("latdisp::near_zero::kinds", 2, max_transitions, kKindFields),
      maxima("latdisp::near_zero::maxima", 2, kMaximaSlots),
      items("latdisp::near_zero::items", max_transitions, items_per_transition) {}

}  // namespace latdisp
