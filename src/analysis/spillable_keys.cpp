#include "analysis/spillable_keys.hpp"

#include <unistd.h>

#include <algorithm>

#include "io/checkpoint_archive.hpp"
#include "parallel/errors.hpp"
#include "parallel/huge_pages.hpp"

namespace latdisp {

SpillableKeys::SpillableKeys(int64_t memory_keys, bool may_spill, const std::string& scratch_dir)
    : m_memory_keys(std::max<int64_t>(memory_keys, 0)) {
  m_memory.reserve(static_cast<size_t>(m_memory_keys));
  // Written once, in order, over up to a quarter of the budget: in huge pages
  // where the system allows it (a hint; nothing depends on it).
  advise_huge_pages(m_memory.data(), m_memory.capacity() * sizeof(uint64_t));
  if (!may_spill) return;
  std::string pattern = (scratch_dir.empty() ? std::string("/tmp") : scratch_dir) + "/latdisp-magnitudes-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) fail(kExitOutput, "cannot create a scratch file in '" + scratch_dir + "' (use --scratch-dir)");
  unlink(name.data());  // gone from the directory even if the run is killed
  m_file = fdopen(fd, "w+b");
  if (!m_file) {
    close(fd);
    fail(kExitOutput, "cannot open the scratch file in '" + scratch_dir + "'");
  }
  m_pending.reserve(static_cast<size_t>(kBufferKeys));
}

SpillableKeys::SpillableKeys(SpillableKeys&& other) noexcept
    : m_memory_keys(other.m_memory_keys),
      m_memory(std::move(other.m_memory)),
      m_pending(std::move(other.m_pending)),
      m_file(other.m_file),
      m_spilled(other.m_spilled) {
  other.m_file = nullptr;
  other.m_spilled = 0;
}

SpillableKeys::~SpillableKeys() {
  if (m_file) std::fclose(m_file);
}

void SpillableKeys::spill(uint64_t key) {
  if (!m_file) fail(kExitOutput, "internal: more general magnitudes than planned and no scratch file");
  m_pending.push_back(key);
  if (static_cast<int64_t>(m_pending.size()) == kBufferKeys) write_pending();
}

void SpillableKeys::write_pending() {
  if (std::fwrite(m_pending.data(), sizeof(uint64_t), m_pending.size(), m_file) != m_pending.size())
    fail(kExitOutput, "writing the magnitude scratch file failed (disk full?)");
  m_spilled += static_cast<int64_t>(m_pending.size());
  m_pending.clear();
}

void SpillableKeys::for_each_chunk(const std::function<void(const uint64_t*, int64_t)>& visit) const {
  const int64_t kept = static_cast<int64_t>(m_memory.size());
  for (int64_t first = 0; first < kept; first += kBufferKeys)
    visit(m_memory.data() + first, std::min(kBufferKeys, kept - first));
  if (m_spilled > 0) {
    if (std::fflush(m_file) != 0) fail(kExitOutput, "writing the magnitude scratch file failed (disk full?)");
    std::vector<uint64_t> chunk(static_cast<size_t>(kBufferKeys));
    for (int64_t first = 0; first < m_spilled; first += kBufferKeys) {
      const int64_t count = std::min(kBufferKeys, m_spilled - first);
      if (fseeko(m_file, static_cast<off_t>(first) * static_cast<off_t>(sizeof(uint64_t)), SEEK_SET) != 0 ||
          std::fread(chunk.data(), sizeof(uint64_t), static_cast<size_t>(count), m_file) != static_cast<size_t>(count))
        fail(kExitOutput, "reading back the magnitude scratch file failed");
      visit(chunk.data(), count);
    }
    // Appending continues at the end of the file.
    if (fseeko(m_file, 0, SEEK_END) != 0) fail(kExitOutput, "seeking in the magnitude scratch file failed");
  }
  if (!m_pending.empty()) visit(m_pending.data(), static_cast<int64_t>(m_pending.size()));
}

void SpillableKeys::save(ArchiveWriter& archive, const std::string& name) const {
  archive.begin_ints(name, size());
  // Keys are stored as their bit patterns.
  for_each_chunk(
      [&](const uint64_t* keys, int64_t count) { archive.add_ints(reinterpret_cast<const int64_t*>(keys), count); });
}

void SpillableKeys::load(ArchiveReader& archive, const std::string& name) {
  if (size() != 0) fail(kExitUsage, "internal: a checkpoint loads into an empty key list");
  const int64_t total = archive.begin_ints(name);
  std::vector<uint64_t> chunk(static_cast<size_t>(kBufferKeys));
  for (int64_t first = 0; first < total; first += kBufferKeys) {
    const int64_t count = std::min(kBufferKeys, total - first);
    archive.read_ints(reinterpret_cast<int64_t*>(chunk.data()), count);
    for (int64_t i = 0; i < count; ++i) push(chunk[static_cast<size_t>(i)]);
  }
}

}  // namespace latdisp
