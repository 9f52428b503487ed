// The checkpoint and restart options that every streaming command with
// checkpoints shares (analyze, optimizer; docs/operations.md §6): one set of
// names, help texts and checks for any options struct with the members
// checkpoint_dir, checkpoint_seconds, resume and block_pause.
#pragma once

#include <boost/program_options.hpp>

#include <string>

#include "parallel/errors.hpp"

namespace latdisp {

// --checkpoint-dir, --checkpoint-seconds, --resume and --block-pause into `d`;
// `state` names what a checkpoint holds ("analysis state", "audit state").
template <class Options>
void add_checkpoint_options(boost::program_options::options_description& d, Options& o, const std::string& state) {
  namespace po = boost::program_options;
  d.add_options()(
      "checkpoint-dir", po::value(&o.checkpoint_dir),
      ("write the " + state +
       " to this directory at step-block boundaries and on SIGUSR1/SIGTERM (then exit 5), so that --resume can "
       "continue the run")
          .c_str())(
      "checkpoint-seconds", po::value(&o.checkpoint_seconds)->default_value(o.checkpoint_seconds),
      "with --checkpoint-dir: seconds between checkpoints (> 0, fractions allowed)")(
      "resume", po::bool_switch(&o.resume),
      "continue from the checkpoint in --checkpoint-dir (same input, options and rank count)")(
      "block-pause", po::value(&o.block_pause)->default_value(o.block_pause),
      "testing: sleep this many seconds after each step block, so that a test can interrupt a run mid-way (0: none)");
}

// Exit 1 with one message for a checkpoint option out of range.
template <class Options>
void validate_checkpoint_options(const Options& o) {
  if (!(o.checkpoint_seconds > 0) || !(o.checkpoint_seconds < 1e9))
    fail(kExitUsage,
         "--checkpoint-seconds must be a positive number of seconds, not " + std::to_string(o.checkpoint_seconds));
  if (!(o.block_pause >= 0) || !(o.block_pause <= 60)) fail(kExitUsage, "--block-pause must be in [0, 60] seconds");
  if (o.resume && o.checkpoint_dir.empty()) fail(kExitUsage, "--resume needs --checkpoint-dir DIR");
}

}  // namespace latdisp
