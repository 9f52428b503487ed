// `latdisp analyze`'s typed configuration: what the stages of an analysis
// receive (built by config/analyze_options.hpp from the command line, or
// by hand in tests).
#pragma once

#include <string>

#include "config/kernel_settings.hpp"
#include "config/option_echo.hpp"
#include "config/run_specs.hpp"
#include "config/save_dtype.hpp"
#include "io/block_source.hpp"
#include "io/output_format.hpp"
#include "io/output_selection.hpp"

namespace latdisp {

// --output: the result tensors saved, their format and integer type.
struct SaveSpec {
  std::string path;  // .h5/.hdf5 or .safetensors; empty: nothing saved
  OutputFormat format = OutputFormat::hdf5;
  OutputSelection selection;            // --outputs
  std::string selection_text = "all";   // --outputs as given (the report's output.outputs)
  SaveDtype dtype;                      // --save-dtype
};

struct AnalyzeConfig {
  InputSpec input;
  KernelSettings kernel = default_kernel_settings();  // arithmetic, epsilon, zero ULP, tokens per item
  double hop_radius = 0;  // --hop-radius in cells; 0: sqrt(dims) (docs/definitions.md §15)
  ReadMethod read_method = ReadMethod::automatic;
  bool spill_magnitudes = false;  // keep row magnitudes in the scratch file
  bool strict = false;            // exit 4 unless the verdict is PERFECT
  MemorySpec memory;
  OutputFiles outputs;  // --report, --per-token, --series-csv, --overwrite
  SaveSpec save;        // --output
  std::string per_row;  // .h5: every row's magnitude and regime; empty: none
  CheckpointSpec checkpoint;
  OptionEcho echo;  // the options as given: the report's run.options, the checkpoint identity's
};

}  // namespace latdisp
