#include "analysis/near_zero_pass.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace latdisp {

NearZeroPass::NearZeroPass(int64_t transitions, int64_t steps_per_block, int64_t items_per_transition)
    : m_transitions(transitions),
      m_outputs(std::max<int64_t>(steps_per_block - 1, 1), items_per_transition),
      m_local{NearZeroPopulation(transitions), NearZeroPopulation(transitions)} {}

void NearZeroPass::add_block(int64_t transitions, int64_t first_step) {
  if (transitions <= 0) return;
  const auto bins = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_outputs.bins);
  const auto kinds = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_outputs.kinds);
  const auto maxima = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_outputs.maxima);
  const auto items = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_outputs.items);
  for (int p = 0; p < kPassPopulations; ++p) {  // the kernel's outputs by Population
    NearZeroPopulation& local = m_local[static_cast<size_t>(p)];
    for (int b = 0; b < kStartBins; ++b)
      for (int f = 0; f < kBinFields; ++f) local.bins[b][f] += bins(p, b, f);
    for (int i = 0; i < kMaximaSlots; ++i) local.maxima[i] = std::max(local.maxima[i], maxima(p, i));
    for (int64_t t = 0; t < transitions; ++t) {
      for (int k = 0; k < kZeroKinds; ++k) {
        local.kind_count[k] += kinds(p, t, k);
        local.kind_above_1024[k] += kinds(p, t, kZeroKinds + k);
        local.series[k][static_cast<size_t>(first_step + t)] += kinds(p, t, k);
      }
      for (size_t i = 0; i < items.extent(1); ++i)
        for (int g = 0; g < 2; ++g) local.sums[g].merge(items(t, i).sums[p][g]);
    }
  }
}

namespace {

std::vector<int64_t> words_of(const AbsSum& sum) {
  std::vector<int64_t> words;
  for (uint64_t w : sum.words) words.push_back(static_cast<int64_t>(w));
  return words;
}

void set_words(AbsSum& sum, const std::vector<int64_t>& words) {
  for (int w = 0; w < AbsSum::kWords; ++w) sum.words[w] = static_cast<uint64_t>(words[static_cast<size_t>(w)]);
}

// A population as one array of integers (bins, maxima, kinds, sums, series) and back.
std::vector<int64_t> flatten(const NearZeroPopulation& p) {
  std::vector<int64_t> flat;
  for (const auto& bin : p.bins) flat.insert(flat.end(), bin.begin(), bin.end());
  for (uint64_t m : p.maxima) flat.push_back(static_cast<int64_t>(m));
  flat.insert(flat.end(), p.kind_count.begin(), p.kind_count.end());
  flat.insert(flat.end(), p.kind_above_1024.begin(), p.kind_above_1024.end());
  for (const AbsSum& sum : p.sums) {
    const std::vector<int64_t> words = words_of(sum);
    flat.insert(flat.end(), words.begin(), words.end());
  }
  for (const auto& s : p.series) flat.insert(flat.end(), s.begin(), s.end());
  return flat;
}

NearZeroPopulation unflatten(const std::vector<int64_t>& flat, int64_t transitions) {
  NearZeroPopulation p(transitions);
  size_t i = 0;
  for (auto& bin : p.bins)
    for (int64_t& v : bin) v = flat.at(i++);
  for (uint64_t& m : p.maxima) m = static_cast<uint64_t>(flat.at(i++));
  for (int64_t& v : p.kind_count) v = flat.at(i++);
  for (int64_t& v : p.kind_above_1024) v = flat.at(i++);
  for (AbsSum& sum : p.sums) {
    set_words(sum, std::vector<int64_t>(flat.begin() + static_cast<std::ptrdiff_t>(i),
                                        flat.begin() + static_cast<std::ptrdiff_t>(i + AbsSum::kWords)));
    i += AbsSum::kWords;
  }
  for (auto& s : p.series)
    for (int64_t& v : s) v = flat.at(i++);
  return p;
}

}  // namespace

void NearZeroPass::save(ArchiveWriter& archive) const {
  for (const Population p : {kLive, kDead})
    archive.put_ints(std::string("near_zero.") + population_name(p), flatten(m_local[p]));
}

void NearZeroPass::load(ArchiveReader& archive) {
  for (const Population p : {kLive, kDead}) {
    const std::string name = std::string("near_zero.") + population_name(p);
    const int64_t size = static_cast<int64_t>(flatten(m_local[p]).size());
    m_local[p] = unflatten(archive.get_ints(name, size), m_transitions);
  }
}

// Gathered to rank 0 and merged there: the exact sums carry between words,
// so no element-wise MPI operation adds them.
NearZeroResult NearZeroPass::reduce(MPI_Comm comm) const {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  std::array<NearZeroPopulation, kPassPopulations> reduced{NearZeroPopulation(m_transitions),
                                                           NearZeroPopulation(m_transitions)};
  for (const Population p : {kLive, kDead}) {
    const std::vector<int64_t> flat = flatten(m_local[p]);
    std::vector<int64_t> all(rank == 0 ? flat.size() * static_cast<size_t>(ranks) : 0);
    MPI_Gather(flat.data(), static_cast<int>(flat.size()), MPI_INT64_T, all.data(), static_cast<int>(flat.size()),
               MPI_INT64_T, 0, comm);
    if (rank != 0) continue;
    for (int r = 0; r < ranks; ++r) {
      const auto first = all.begin() + static_cast<std::ptrdiff_t>(flat.size() * static_cast<size_t>(r));
      reduced[p].merge(
          unflatten(std::vector<int64_t>(first, first + static_cast<std::ptrdiff_t>(flat.size())), m_transitions));
    }
  }
  if (rank != 0)
    return {NearZeroPopulation(m_transitions), NearZeroPopulation(m_transitions), NearZeroPopulation(m_transitions)};
  return by_result_population(reduced);
}

}  // namespace latdisp
