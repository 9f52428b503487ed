// The checkpoint file format: a sequence of named, typed fields (integers,
// doubles, strings and arrays of them) followed by a content hash. Each piece
// of analysis state writes its own fields with save(ArchiveWriter&) and reads
// them back with load(ArchiveReader&); a read that does not find the field it
// expects (name, type, length), a truncated file or a wrong hash is an error
// that names the file and the field (docs/formats.md §13).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "io/durable_file.hpp"

namespace latdisp {

// A fast 64-bit hash of a byte stream (four independent lanes of
// multiply-xorshift over 8-byte words): detects damaged files, not attacks.
// The value does not depend on how the stream was split into update() calls.
class ContentHash {
 public:
  void update(const void* data, size_t bytes);
  uint64_t value() const;

 private:
  void mix_block(const unsigned char* block);

  uint64_t m_lanes[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0x27D4EB2F165667C5ull};
  unsigned char m_pending[32] = {};
  size_t m_pending_bytes = 0;
  uint64_t m_length = 0;
};

std::string hash_text(uint64_t hash);  // 16 hex digits

enum class FieldKind : uint8_t { kInt = 1, kDouble = 2, kString = 3, kInts = 4, kDoubles = 5, kBytes = 6 };

class ArchiveWriter {
 public:
  // Starts the file (magic and byte-order mark) on `file`.
  explicit ArchiveWriter(DurableFile& file);

  void put_int(const std::string& name, int64_t value);
  void put_double(const std::string& name, double value);
  void put_string(const std::string& name, const std::string& value);
  void put_ints(const std::string& name, const int64_t* values, int64_t count);
  void put_ints(const std::string& name, const std::vector<int64_t>& values);
  void put_doubles(const std::string& name, const double* values, int64_t count);
  void put_doubles(const std::string& name, const std::vector<double>& values);
  void put_bytes(const std::string& name, const std::vector<uint8_t>& values);

  // A large array written in pieces: begin_doubles, then exactly `count`
  // values over any number of add_doubles calls.
  void begin_doubles(const std::string& name, int64_t count);
  void add_doubles(const double* values, int64_t count);
  void begin_ints(const std::string& name, int64_t count);
  void add_ints(const int64_t* values, int64_t count);

  // Appends the content hash; no field may follow. Returns the hash.
  uint64_t finish();

 private:
  void field(FieldKind kind, const std::string& name, int64_t count);
  void raw(const void* data, size_t bytes);
  void add_elements(const void* values, int64_t count);  // 8-byte elements of an announced array
  void check_array_complete();

  DurableFile& m_file;
  ContentHash m_hash;
  int64_t m_array_left = 0;
  bool m_finished = false;
};

class ArchiveReader {
 public:
  // Opens and checks the magic and byte-order mark. Errors throw
  // Error(exit_code) naming the file.
  ArchiveReader(const std::string& path, int exit_code);
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  int64_t get_int(const std::string& name);
  double get_double(const std::string& name);
  std::string get_string(const std::string& name);
  // `count` >= 0: the array must have exactly that many elements.
  std::vector<int64_t> get_ints(const std::string& name, int64_t count = -1);
  std::vector<double> get_doubles(const std::string& name, int64_t count = -1);
  std::vector<uint8_t> get_bytes(const std::string& name, int64_t count = -1);
  // Reads an int array into a fixed-size destination.
  void get_ints_into(const std::string& name, int64_t* values, int64_t count);

  // A large array read in pieces: begin_doubles returns its length, then
  // read_doubles until all of it is read.
  int64_t begin_doubles(const std::string& name);
  void read_doubles(double* values, int64_t count);
  int64_t begin_ints(const std::string& name);
  void read_ints(int64_t* values, int64_t count);

  // Checks the content hash and that nothing follows it.
  void finish();

  // Throws Error(exit_code): "checkpoint file 'PATH' ...: WHY".
  [[noreturn]] void damaged(const std::string& why) const;
  const std::string& path() const { return m_path; }

 private:
  int64_t field(FieldKind kind, const std::string& name);
  void raw(void* data, size_t bytes);
  void read_elements(void* values, int64_t count);

  std::string m_path;
  int m_exit_code;
  std::FILE* m_file = nullptr;
  uint64_t m_size = 0;
  uint64_t m_offset = 0;
  ContentHash m_hash;
  int64_t m_array_left = 0;
};

// Reads a whole archive file and checks its trailing content hash; returns
// the hash. Throws Error(exit_code) if the file is missing, short or damaged.
uint64_t verify_archive_file(const std::string& path, int exit_code);

}  // namespace latdisp
