#include "survey/tokenizer.hpp"

#include <array>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "io/input_path.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

namespace {

// GPT-2's bytes_to_unicode, reversed: code point -> byte (-1: not in the table).
std::map<uint32_t, int> byte_of_code_point() {
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  std::map<uint32_t, int> table;
  int shifted = 0;
  for (int b = 0; b < 256; ++b) table[printable[b] ? uint32_t(b) : uint32_t(256 + shifted++)] = b;
  return table;
}

// Length of the valid UTF-8 sequence at `i` (Unicode's well-formed table:
// no overlong forms, no surrogates, nothing above U+10FFFF); 0 if none.
size_t valid_sequence(const std::string& s, size_t i) {
  const auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned b = at(i);
  const auto in = [](unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; };
  if (b < 0x80) return 1;
  if (in(b, 0xC2, 0xDF)) return in(at(i + 1), 0x80, 0xBF) ? 2 : 0;
  if (in(b, 0xE0, 0xEF)) {
    const unsigned lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    return in(at(i + 1), lo, hi) && in(at(i + 2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(b, 0xF0, 0xF4)) {
    const unsigned lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    return in(at(i + 1), lo, hi) && in(at(i + 2), 0x80, 0xBF) && in(at(i + 3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// The code point of the (valid) UTF-8 sequence at `i`, and its length.
uint32_t code_point_at(const std::string& s, size_t i, size_t& length) {
  length = valid_sequence(s, i);
  if (length == 0) {
    length = 1;
    return 0xFFFFFFFFu;
  }
  const auto byte = [&](size_t k) { return uint32_t(static_cast<unsigned char>(s[i + k])); };
  if (length == 1) return byte(0);
  if (length == 2) return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
  if (length == 3) return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
}

bool mentions_byte_level(const nlohmann::json& node) {
  if (node.is_object()) {
    const auto type = node.find("type");
    if (type != node.end() && type->is_string() && *type == "ByteLevel") return true;
    for (const auto& item : node.items())
      if (mentions_byte_level(item.value())) return true;
  } else if (node.is_array()) {
    for (const auto& item : node)
      if (mentions_byte_level(item)) return true;
  }
  return false;
}

[[noreturn]] void not_tokenizers(const std::string& path, const std::string& why) {
  fail(kExitInput, "tokenizer '" + path + "' is not a Hugging Face tokenizers file (tokenizer.json): " + why);
}

void set_string(TokenizerStrings& t, int64_t id, const std::string& text) {
  if (id < 0) not_tokenizers(t.path, "token id " + std::to_string(id) + " is negative");
  if (id > (int64_t(1) << 31)) not_tokenizers(t.path, "token id " + std::to_string(id) + " is implausibly large");
  if (id >= int64_t(t.strings.size())) t.strings.resize(size_t(id + 1));
  t.strings[size_t(id)] = text;
}

void read_vocab(TokenizerStrings& t, const nlohmann::json& model) {
  const auto vocab = model.find("vocab");
  if (vocab == model.end()) not_tokenizers(t.path, "its model has no vocab");
  if (vocab->is_array()) {  // Unigram: [[piece, score], ...], the id is the index
    int64_t id = 0;
    for (const auto& entry : *vocab) {
      if (!entry.is_array() || entry.empty() || !entry[0].is_string())
        not_tokenizers(t.path, "a Unigram vocab entry is not [piece, score]");
      set_string(t, id++, entry[0].get<std::string>());
    }
    return;
  }
  if (!vocab->is_object()) not_tokenizers(t.path, "its model's vocab is neither an object nor a list");
  for (const auto& item : vocab->items()) {
    if (!item.value().is_number_integer()) not_tokenizers(t.path, "vocab entry '" + item.key() + "' has no integer id");
    set_string(t, item.value().get<int64_t>(), t.byte_level ? decode_byte_level(item.key()) : item.key());
  }
}

}  // namespace

std::string utf8_backslashreplace(const std::string& bytes) {
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < bytes.size();) {
    const size_t length = valid_sequence(bytes, i);
    if (length > 0) {
      text.append(bytes, i, length);
      i += length;
      continue;
    }
    const unsigned char b = static_cast<unsigned char>(bytes[i++]);
    text += "\\x";
    text += hex[b >> 4];
    text += hex[b & 15];
  }
  return text;
}

std::string decode_byte_level(const std::string& token) {
  static const std::map<uint32_t, int> table = byte_of_code_point();
  std::string bytes;
  for (size_t i = 0; i < token.size();) {
    size_t length = 0;
    const uint32_t code_point = code_point_at(token, i, length);
    const auto found = table.find(code_point);
    if (found != table.end()) bytes += static_cast<char>(found->second);
    else bytes.append(token, i, length);
    i += length;
  }
  return utf8_backslashreplace(bytes);
}

TokenizerStrings read_tokenizer(const std::string& path) {
  require_readable_file(path, "tokenizer");
  TokenizerStrings t;
  t.path = path;
  nlohmann::json json;
  try {
    std::ifstream in(path);
    json = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    not_tokenizers(path, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!json.is_object()) not_tokenizers(path, "not a JSON object");
  const auto model = json.find("model");
  if (model == json.end() || !model->is_object()) not_tokenizers(path, "no model object");
  const auto type = model->find("type");
  t.model_type = type != model->end() && type->is_string() ? type->get<std::string>() : "";
  if (t.model_type.empty()) t.model_type = model->contains("merges") ? "BPE" : "";
  t.byte_level = t.model_type == "BPE" &&
                 (mentions_byte_level(json.value("pre_tokenizer", nlohmann::json())) ||
                  mentions_byte_level(json.value("decoder", nlohmann::json())));
  read_vocab(t, *model);
  const auto added = json.find("added_tokens");
  if (added != json.end() && added->is_array()) {
    for (const auto& token : *added) {
      if (!token.is_object() || !token.contains("id") || !token["id"].is_number_integer() ||
          !token.contains("content") || !token["content"].is_string())
        not_tokenizers(path, "an added token lacks an integer id or a content string");
      set_string(t, token["id"].get<int64_t>(), token["content"].get<std::string>());
      ++t.added;
    }
  }
  t.size = int64_t(t.strings.size());
  return t;
}

}  // namespace latdisp
