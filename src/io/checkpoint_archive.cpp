#include "io/checkpoint_archive.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "parallel/errors.hpp"

namespace latdisp {

namespace {

constexpr char kMagic[8] = {'L', 'D', 'C', 'K', 'P', 'T', '0', '1'};
constexpr uint64_t kByteOrderMark = 0x0102030405060708ull;
constexpr uint8_t kEndMarker = 0xFF;
constexpr uint64_t kPrime = 0x9FB21C651E98DF25ull;
constexpr int64_t kPieceValues = int64_t(1) << 16;

uint64_t load_word(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

uint64_t mix(uint64_t state, uint64_t word) {
  state = (state ^ word) * kPrime;
  return state ^ (state >> 31);
}

const char* kind_name(uint8_t kind) {
  switch (static_cast<FieldKind>(kind)) {
    case FieldKind::kInt:
      return "integer";
    case FieldKind::kDouble:
      return "double";
    case FieldKind::kString:
      return "string";
    case FieldKind::kInts:
      return "integer array";
    case FieldKind::kDoubles:
      return "double array";
    case FieldKind::kBytes:
      return "byte array";
  }
  return kind == kEndMarker ? "end of file" : "unknown";
}

size_t element_bytes(FieldKind kind) { return kind == FieldKind::kString || kind == FieldKind::kBytes ? 1 : 8; }

}  // namespace

void ContentHash::mix_block(const unsigned char* block) {
  for (int lane = 0; lane < 4; ++lane) m_lanes[lane] = mix(m_lanes[lane], load_word(block + 8 * lane));
}

void ContentHash::update(const void* data, size_t bytes) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  m_length += bytes;
  if (m_pending_bytes > 0) {
    const size_t take = std::min(bytes, sizeof m_pending - m_pending_bytes);
    std::memcpy(m_pending + m_pending_bytes, p, take);
    m_pending_bytes += take;
    p += take;
    bytes -= take;
    if (m_pending_bytes < sizeof m_pending) return;
    mix_block(m_pending);
    m_pending_bytes = 0;
  }
  for (; bytes >= sizeof m_pending; p += sizeof m_pending, bytes -= sizeof m_pending) mix_block(p);
  std::memcpy(m_pending, p, bytes);
  m_pending_bytes = bytes;
}

uint64_t ContentHash::value() const {
  ContentHash last = *this;
  std::memset(last.m_pending + last.m_pending_bytes, 0, sizeof last.m_pending - last.m_pending_bytes);
  last.mix_block(last.m_pending);
  uint64_t hash = mix(0, m_length);
  for (uint64_t lane : last.m_lanes) hash = mix(hash, lane);
  return hash;
}

std::string hash_text(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

// --- writing -----------------------------------------------------------------

ArchiveWriter::ArchiveWriter(DurableFile& file) : m_file(file) {
  raw(kMagic, sizeof kMagic);
  raw(&kByteOrderMark, sizeof kByteOrderMark);
}

void ArchiveWriter::raw(const void* data, size_t bytes) {
  m_hash.update(data, bytes);
  m_file.write(data, bytes);
}

void ArchiveWriter::check_array_complete() {
  if (m_array_left != 0 || m_finished) fail(kExitOutput, "internal: checkpoint field written out of order");
}

void ArchiveWriter::field(FieldKind kind, const std::string& name, int64_t count) {
  check_array_complete();
  const uint8_t tag = static_cast<uint8_t>(kind);
  const uint32_t length = static_cast<uint32_t>(name.size());
  raw(&tag, 1);
  raw(&length, sizeof length);
  raw(name.data(), name.size());
  raw(&count, sizeof count);
}

void ArchiveWriter::put_int(const std::string& name, int64_t value) {
  field(FieldKind::kInt, name, 1);
  raw(&value, sizeof value);
}

void ArchiveWriter::put_double(const std::string& name, double value) {
  field(FieldKind::kDouble, name, 1);
  raw(&value, sizeof value);
}

void ArchiveWriter::put_string(const std::string& name, const std::string& value) {
  field(FieldKind::kString, name, static_cast<int64_t>(value.size()));
  raw(value.data(), value.size());
}

void ArchiveWriter::put_ints(const std::string& name, const int64_t* values, int64_t count) {
  field(FieldKind::kInts, name, count);
  raw(values, static_cast<size_t>(count) * sizeof(int64_t));
}

void ArchiveWriter::put_ints(const std::string& name, const std::vector<int64_t>& values) {
  put_ints(name, values.data(), static_cast<int64_t>(values.size()));
}

void ArchiveWriter::put_doubles(const std::string& name, const double* values, int64_t count) {
  field(FieldKind::kDoubles, name, count);
  raw(values, static_cast<size_t>(count) * sizeof(double));
}

void ArchiveWriter::put_doubles(const std::string& name, const std::vector<double>& values) {
  put_doubles(name, values.data(), static_cast<int64_t>(values.size()));
}

void ArchiveWriter::put_bytes(const std::string& name, const std::vector<uint8_t>& values) {
  field(FieldKind::kBytes, name, static_cast<int64_t>(values.size()));
  raw(values.data(), values.size());
}

void ArchiveWriter::begin_doubles(const std::string& name, int64_t count) {
  field(FieldKind::kDoubles, name, count);
  m_array_left = count;
}

void ArchiveWriter::add_doubles(const double* values, int64_t count) { add_elements(values, count); }

void ArchiveWriter::begin_ints(const std::string& name, int64_t count) {
  field(FieldKind::kInts, name, count);
  m_array_left = count;
}

void ArchiveWriter::add_ints(const int64_t* values, int64_t count) { add_elements(values, count); }

void ArchiveWriter::add_elements(const void* values, int64_t count) {
  if (count > m_array_left) fail(kExitOutput, "internal: more checkpoint values than announced");
  raw(values, static_cast<size_t>(count) * 8);
  m_array_left -= count;
}

uint64_t ArchiveWriter::finish() {
  check_array_complete();
  raw(&kEndMarker, 1);
  const uint64_t hash = m_hash.value();
  m_file.write(&hash, sizeof hash);
  m_finished = true;
  return hash;
}

// --- reading -----------------------------------------------------------------

ArchiveReader::ArchiveReader(const std::string& path, int exit_code) : m_path(path), m_exit_code(exit_code) {
  m_file = std::fopen(path.c_str(), "rb");
  if (!m_file) fail(exit_code, "cannot open the checkpoint file '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (fstat(fileno(m_file), &info) != 0) damaged("cannot stat it");
  m_size = static_cast<uint64_t>(info.st_size);
  char magic[sizeof kMagic];
  raw(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0) damaged("not a latdisp checkpoint file (wrong magic)");
  uint64_t mark = 0;
  raw(&mark, sizeof mark);
  if (mark != kByteOrderMark) damaged("written on a machine of another byte order");
}

ArchiveReader::~ArchiveReader() {
  if (m_file) std::fclose(m_file);
}

void ArchiveReader::damaged(const std::string& why) const {
  fail(m_exit_code, "checkpoint file '" + m_path + "' is damaged or not from this version: " + why);
}

void ArchiveReader::raw(void* data, size_t bytes) {
  if (bytes > m_size - m_offset || std::fread(data, 1, bytes, m_file) != bytes)
    damaged("it ends early, at byte " + std::to_string(m_offset) + " of " + std::to_string(m_size));
  m_hash.update(data, bytes);
  m_offset += bytes;
}

int64_t ArchiveReader::field(FieldKind kind, const std::string& name) {
  if (m_array_left != 0) damaged("internal: field '" + name + "' read before the previous array was complete");
  uint8_t tag = 0;
  raw(&tag, 1);
  if (tag == kEndMarker) damaged("it ends where field '" + name + "' was expected");
  uint32_t length = 0;
  raw(&length, sizeof length);
  if (length > 4096) damaged("a field name of " + std::to_string(length) + " bytes where '" + name + "' was expected");
  std::string found(length, '\0');
  raw(found.data(), length);
  int64_t count = 0;
  raw(&count, sizeof count);
  if (found != name || tag != static_cast<uint8_t>(kind))
    damaged("expected field '" + name + "' (" + kind_name(static_cast<uint8_t>(kind)) + "), found '" + found + "' (" +
            kind_name(tag) + ")");
  if (count < 0 || static_cast<uint64_t>(count) > (m_size - m_offset) / element_bytes(kind))
    damaged("field '" + name + "' claims " + std::to_string(count) + " elements, more than the file holds");
  return count;
}

int64_t ArchiveReader::get_int(const std::string& name) {
  if (field(FieldKind::kInt, name) != 1) damaged("field '" + name + "' is not one value");
  int64_t value = 0;
  raw(&value, sizeof value);
  return value;
}

double ArchiveReader::get_double(const std::string& name) {
  if (field(FieldKind::kDouble, name) != 1) damaged("field '" + name + "' is not one value");
  double value = 0;
  raw(&value, sizeof value);
  return value;
}

std::string ArchiveReader::get_string(const std::string& name) {
  std::string value(static_cast<size_t>(field(FieldKind::kString, name)), '\0');
  raw(value.data(), value.size());
  return value;
}

namespace {
void require_count(const ArchiveReader& reader, const std::string& name, int64_t found, int64_t expected) {
  if (expected >= 0 && found != expected)
    reader.damaged("field '" + name + "' has " + std::to_string(found) + " elements, expected " +
                   std::to_string(expected));
}
}  // namespace

std::vector<int64_t> ArchiveReader::get_ints(const std::string& name, int64_t count) {
  const int64_t found = field(FieldKind::kInts, name);
  require_count(*this, name, found, count);
  std::vector<int64_t> values(static_cast<size_t>(found));
  raw(values.data(), values.size() * sizeof(int64_t));
  return values;
}

void ArchiveReader::get_ints_into(const std::string& name, int64_t* values, int64_t count) {
  require_count(*this, name, field(FieldKind::kInts, name), count);
  raw(values, static_cast<size_t>(count) * sizeof(int64_t));
}

std::vector<double> ArchiveReader::get_doubles(const std::string& name, int64_t count) {
  const int64_t found = field(FieldKind::kDoubles, name);
  require_count(*this, name, found, count);
  std::vector<double> values(static_cast<size_t>(found));
  raw(values.data(), values.size() * sizeof(double));
  return values;
}

std::vector<uint8_t> ArchiveReader::get_bytes(const std::string& name, int64_t count) {
  const int64_t found = field(FieldKind::kBytes, name);
  require_count(*this, name, found, count);
  std::vector<uint8_t> values(static_cast<size_t>(found));
  raw(values.data(), values.size());
  return values;
}

int64_t ArchiveReader::begin_doubles(const std::string& name) {
  const int64_t count = field(FieldKind::kDoubles, name);
  m_array_left = count;
  return count;
}

void ArchiveReader::read_doubles(double* values, int64_t count) { read_elements(values, count); }

int64_t ArchiveReader::begin_ints(const std::string& name) {
  const int64_t count = field(FieldKind::kInts, name);
  m_array_left = count;
  return count;
}

void ArchiveReader::read_ints(int64_t* values, int64_t count) { read_elements(values, count); }

void ArchiveReader::read_elements(void* values, int64_t count) {
  if (count > m_array_left) damaged("internal: more values read than the array holds");
  raw(values, static_cast<size_t>(count) * 8);
  m_array_left -= count;
}

void ArchiveReader::finish() {
  if (m_array_left != 0) damaged("internal: an array was not read to its end");
  uint8_t tag = 0;
  raw(&tag, 1);
  if (tag != kEndMarker) damaged("more fields than this version of latdisp knows");
  const uint64_t expected = m_hash.value();
  uint64_t stored = 0;
  raw(&stored, sizeof stored);
  if (stored != expected) damaged("content hash mismatch");
  if (m_offset != m_size) damaged("bytes after the content hash");
}

uint64_t verify_archive_file(const std::string& path, int exit_code) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail(exit_code, "cannot open the checkpoint file '" + path + "': " + std::strerror(errno));
  struct stat info {};
  const bool sized = fstat(fileno(file), &info) == 0;
  const uint64_t size = sized ? static_cast<uint64_t>(info.st_size) : 0;
  const uint64_t minimum = sizeof kMagic + sizeof kByteOrderMark + 1 + sizeof(uint64_t);
  ContentHash hash;
  std::vector<unsigned char> chunk(size_t(1) << 20);
  uint64_t left = size >= minimum ? size - sizeof(uint64_t) : 0;
  unsigned char last = 0;
  bool read_ok = size >= minimum;
  while (read_ok && left > 0) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
    read_ok = std::fread(chunk.data(), 1, take, file) == take;
    hash.update(chunk.data(), take);
    last = chunk[take - 1];
    left -= take;
  }
  uint64_t stored = 0;
  read_ok = read_ok && std::fread(&stored, sizeof stored, 1, file) == 1;
  std::fclose(file);
  if (!read_ok || last != kEndMarker)
    fail(exit_code, "checkpoint file '" + path + "' is incomplete (" + std::to_string(size) + " bytes)");
  if (stored != hash.value()) fail(exit_code, "checkpoint file '" + path + "' is damaged: content hash mismatch");
  return stored;
}

}  // namespace latdisp
