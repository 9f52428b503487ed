#include "analysis/magnitude_store.hpp"

#include <unistd.h>

#include <algorithm>

#include "io/checkpoint_archive.hpp"
#include "parallel/errors.hpp"

namespace latdisp {

MagnitudeStore::MagnitudeStore(int64_t capacity, bool in_memory, const std::string& scratch_dir) {
  if (in_memory) {
    m_values.reserve(static_cast<size_t>(capacity));
    return;
  }
  std::string pattern = (scratch_dir.empty() ? std::string("/tmp") : scratch_dir) + "/latdisp-magnitudes-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) fail(kExitOutput, "cannot create a scratch file in '" + scratch_dir + "' (use --scratch-dir)");
  unlink(name.data());  // gone from the directory even if the run is killed
  m_file = fdopen(fd, "w+b");
}

MagnitudeStore::~MagnitudeStore() {
  if (m_file) std::fclose(m_file);
}

void MagnitudeStore::append(const double* values, int64_t count) {
  if (m_file) {
    if (std::fwrite(values, sizeof(double), static_cast<size_t>(count), m_file) != static_cast<size_t>(count))
      fail(kExitOutput, "writing the magnitude scratch file failed (disk full?)");
  } else {
    m_values.insert(m_values.end(), values, values + count);
  }
  m_size += count;
}

void MagnitudeStore::for_each_chunk(const std::function<void(const double*, int64_t, int64_t)>& visit) const {
  if (!m_file) {
    for (int64_t first = 0; first < m_size; first += kChunkValues)
      visit(m_values.data() + first, std::min(kChunkValues, m_size - first), first);
    return;
  }
  std::fflush(m_file);
  std::vector<double> chunk(static_cast<size_t>(std::min(kChunkValues, std::max<int64_t>(m_size, 1))));
  for (int64_t first = 0; first < m_size; first += kChunkValues) {
    const int64_t count = std::min(kChunkValues, m_size - first);
    if (std::fseek(m_file, static_cast<long>(first * static_cast<int64_t>(sizeof(double))), SEEK_SET) != 0 ||
        std::fread(chunk.data(), sizeof(double), static_cast<size_t>(count), m_file) != static_cast<size_t>(count))
      fail(kExitOutput, "reading back the magnitude scratch file failed");
    visit(chunk.data(), count, first);
  }
  // Appends continue at the end (a checkpoint reads the file mid-run).
  if (std::fseek(m_file, 0, SEEK_END) != 0) fail(kExitOutput, "seeking in the magnitude scratch file failed");
}

void MagnitudeStore::save(ArchiveWriter& archive) const {
  archive.begin_doubles("magnitudes", m_size);
  for_each_chunk([&](const double* values, int64_t count, int64_t) { archive.add_doubles(values, count); });
}

void MagnitudeStore::load(ArchiveReader& archive) {
  if (m_size != 0) fail(kExitUsage, "internal: a checkpoint loads into an empty magnitude store");
  const int64_t total = archive.begin_doubles("magnitudes");
  std::vector<double> chunk(static_cast<size_t>(std::min(kChunkValues, std::max<int64_t>(total, 1))));
  for (int64_t first = 0; first < total; first += kChunkValues) {
    const int64_t count = std::min(kChunkValues, total - first);
    archive.read_doubles(chunk.data(), count);
    append(chunk.data(), count);
  }
}

}  // namespace latdisp
