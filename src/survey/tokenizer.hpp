// A Hugging Face `tokenizers` JSON file read as the survey needs it
// (docs/formats.md §20): every token id's string, byte-level BPE
// tokens decoded to the text they stand for, and the tokenizer's size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace latdisp {

struct TokenizerStrings {
  std::string path;
  std::string model_type;  // "BPE", "WordPiece", "Unigram", "WordLevel", ...
  bool byte_level = false; // a ByteLevel pre-tokenizer or decoder: strings decoded
  int64_t size = 0;        // the largest id of model.vocab and added_tokens, plus one
  int64_t added = 0;       // added tokens
  std::vector<std::optional<std::string>> strings;  // by id (size entries); nullopt: no token
};

// Throws Error(kExitInput) naming the file: unreadable, not JSON, or not the
// tokenizers format (no model object with a vocab), negative ids.
TokenizerStrings read_tokenizer(const std::string& path);

// A byte-level BPE token (GPT-2's byte-to-unicode characters) as the text its
// bytes decode to: UTF-8, each byte outside a valid sequence written `\xNN`
// (lowercase hex), as Python's bytes.decode('utf-8', 'backslashreplace').
// A character outside the table stands for its own UTF-8 bytes.
std::string decode_byte_level(const std::string& token);

// The bytes as Python's decode('utf-8', 'backslashreplace') renders them.
std::string utf8_backslashreplace(const std::string& bytes);

}  // namespace latdisp
