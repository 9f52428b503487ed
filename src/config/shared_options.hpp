// The option groups several commands share, stated once: the input, the
// memory, the output files and the checkpoints. Each takes the member of the
// command's configuration it fills; the help texts that name what a command
// reads or keeps are its arguments.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/option_table.hpp"
#include "config/run_specs.hpp"
#include "io/file_names.hpp"
#include "io/table_writer.hpp"
#include "kokkos_kernels/formats/element_type.hpp"
#include "parallel/errors.hpp"
#include "parallel/memory.hpp"

namespace latdisp {

// --element-type's value: none when empty, else one of the element formats.
inline std::optional<formats::ElementType> element_type_option(const std::string& text) {
  if (text.empty()) return std::nullopt;
  formats::ElementType type;
  if (!formats::parse_element_type(text, type))
    fail(kExitUsage, "--element-type must be one of " + formats::element_type_names() + ", not '" + text + "'");
  return type;
}

// --hash-bits (testing): keep only this many bits of the row hashes.
template <class C, class T>
Option<C> hash_bits_option(T C::*hash_bits) {
  return option<C>("hash-bits", int64_t{64},
                   "testing: keep only this many hash bits (1..64) to force collisions; results must not change",
                   [hash_bits](C& c, int64_t v) {
                     if (v < 1 || v > 64) fail(kExitUsage, "--hash-bits must be in 1..64, not " + std::to_string(v));
                     c.*hash_bits = static_cast<T>(v);
                   });
}

// --input (required: `missing` is the message without it).
template <class C>
Option<C> input_option(InputSpec C::*input, std::string help, std::string missing) {
  return text_option<C>("input,i", std::move(help), [input, missing](C& c, const std::string& v) {
    if (v.empty()) fail(kExitUsage, missing);
    (c.*input).path = v;
  });
}

template <class C>
Option<C> dataset_option(InputSpec C::*input, std::string help) {
  return option<C>("dataset", std::string("W"), std::move(help),
                   [input](C& c, const std::string& v) { (c.*input).dataset = v; });
}

template <class C>
Option<C> dead_mask_option(InputSpec C::*input, std::string help) {
  return option<C>("dead-mask", std::string("dead_mask"), std::move(help),
                   [input](C& c, const std::string& v) { (c.*input).dead_mask = v; });
}

template <class C>
Option<C> memory_budget_option(MemorySpec C::*memory, std::string help) {
  return text_option<C>("memory-budget", std::move(help), [memory](C& c, const std::string& v) {
    if (!v.empty()) (c.*memory).budget_bytes = parse_byte_size(v, "--memory-budget");
  });
}

template <class C>
Option<C> scratch_dir_option(MemorySpec C::*memory, std::string help) {
  return option<C>("scratch-dir", std::string("/tmp"), std::move(help),
                   [memory](C& c, const std::string& v) { (c.*memory).scratch_dir = v; });
}

template <class C>
Option<C> max_steps_per_block_option(MemorySpec C::*memory) {
  return option<C>("max-steps-per-block", int64_t{0},
                   "tuning/testing: cap the steps held at once (0: as many as the budget allows; else >= 2)",
                   [memory](C& c, int64_t v) {
                     if (v < 0 || v == 1) fail(kExitUsage, "--max-steps-per-block must be 0 (no cap) or at least 2");
                     (c.*memory).max_steps_per_block = v;
                   });
}

template <class C>
Option<C> progress_seconds_option(MemorySpec C::*memory) {
  return option<C>("progress-seconds", 5.0, "seconds between progress lines on stderr (0: none)",
                   [memory](C& c, double v) {
                     if (!(v >= 0)) fail(kExitUsage, "--progress-seconds must be >= 0");
                     (c.*memory).progress_seconds = v;
                   });
}

template <class C>
Option<C> report_option(OutputFiles C::*files, std::string help) {
  return text_option<C>("report,r", std::move(help), [files](C& c, const std::string& v) { (c.*files).report = v; });
}

template <class C>
Option<C> per_token_option(OutputFiles C::*files, std::string help) {
  return text_option<C>("per-token", std::move(help), [files](C& c, const std::string& v) {
           if (!v.empty()) table_format_of("--per-token", v);
           (c.*files).per_token = v;
         })
      .in_identity(IdentityPart::given);  // it keeps per-token state in the checkpoint
}

template <class C>
Option<C> series_csv_option(OutputFiles C::*files, std::string help) {
  return text_option<C>("series-csv", std::move(help), [files](C& c, const std::string& v) {
    if (!v.empty() && !has_suffix(v, ".csv"))
      fail(kExitUsage, "--series-csv '" + v + "': the series are written as CSV, the name must end in .csv");
    (c.*files).series_csv = v;
  });
}

template <class C>
Option<C> overwrite_option(OutputFiles C::*files, std::string help) {
  return flag_option<C>("overwrite", std::move(help), [files](C& c, bool v) { (c.*files).overwrite = v; });
}

// --checkpoint-dir, --checkpoint-seconds, --resume and --block-pause;
// `state` names what a checkpoint holds ("analysis state", "audit state").
// Their echo keys are the report's (checkpoint_dir, ...).
template <class C>
std::vector<Option<C>> checkpoint_options(CheckpointSpec C::*spec, const std::string& state) {
  return {
      text_option<C>("checkpoint-dir",
                     "write the " + state +
                         " to this directory at step-block boundaries and on SIGUSR1/SIGTERM (then exit 5), so that "
                         "--resume can continue the run",
                     [spec](C& c, const std::string& v) { (c.*spec).directory = v; })
          .echo("checkpoint_dir"),
      option<C>("checkpoint-seconds", 300.0,
                "with --checkpoint-dir: seconds between checkpoints (> 0, fractions allowed)",
                [spec](C& c, double v) {
                  if (!(v > 0) || !(v < 1e9))
                    fail(kExitUsage,
                         "--checkpoint-seconds must be a positive number of seconds, not " + std::to_string(v));
                  (c.*spec).seconds = v;
                })
          .echo("checkpoint_seconds"),
      flag_option<C>("resume", "continue from the checkpoint in --checkpoint-dir (same input, options and rank count)",
                     [spec](C& c, bool v) {
                       if (v && (c.*spec).directory.empty()) fail(kExitUsage, "--resume needs --checkpoint-dir DIR");
                       (c.*spec).resume = v;
                     })
          .echo("resume"),
      option<C>("block-pause", 0.0,
                "testing: sleep this many seconds after each step block, so that a test can interrupt a run mid-way "
                "(0: none)",
                [spec](C& c, double v) {
                  if (!(v >= 0) || !(v <= 60)) fail(kExitUsage, "--block-pause must be in [0, 60] seconds");
                  (c.*spec).block_pause = v;
                })
          .echo("block_pause"),
  };
}

}  // namespace latdisp
