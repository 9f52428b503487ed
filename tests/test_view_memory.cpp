// The step block's output Views in whole huge pages (analysis/view_labels.hpp,
// host_pages_view): a large host View lies on memory aligned to a huge page
// and held by its HostPages; a small one is Kokkos's, labelled. Either is
// written all over and read back.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

#include <cstdint>

#include "analysis/view_labels.hpp"

namespace latdisp {
namespace {

using HostRows = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

void expect_round_trip(const HostRows& view) {
  for (size_t i = 0; i < view.extent(0); ++i)
    for (size_t j = 0; j < view.extent(1); ++j) view(i, j) = static_cast<double>(i * view.extent(1) + j);
  for (size_t i = 0; i < view.extent(0); ++i)
    for (size_t j = 0; j < view.extent(1); ++j) ASSERT_EQ(view(i, j), static_cast<double>(i * view.extent(1) + j));
}

TEST(HostPagesView, LargeViewsLieOnWholeHugePages) {
  HostPages pages;
  const HostRows view = host_pages_view<HostRows>("latdisp::test::large", pages, 300, 1500);  // 3.4 MiB
  ASSERT_NE(pages, nullptr);
  EXPECT_EQ(pages.get(), static_cast<void*>(view.data()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data()) % kHugePageBytes, 0u);
  EXPECT_EQ(view.extent(0), 300u);
  EXPECT_EQ(view.extent(1), 1500u);
  expect_round_trip(view);
}

TEST(HostPagesView, SmallViewsAreKokkosAllocations) {
  HostPages pages = std::make_shared<int>(0);  // replaced: a small View holds no pages
  const HostRows view = host_pages_view<HostRows>("latdisp::test::small", pages, 30, 150);  // 35 KiB
  EXPECT_EQ(pages, nullptr);
  EXPECT_EQ(view.label(), "latdisp::test::small");
  EXPECT_EQ(view.extent(0), 30u);
  expect_round_trip(view);
}

TEST(HostPagesView, EmptyViewsAreKokkosAllocations) {
  HostPages pages;
  const HostRows view = host_pages_view<HostRows>("latdisp::test::empty", pages, 0, 0);  // a disabled tracker's
  EXPECT_EQ(pages, nullptr);
  EXPECT_EQ(view.size(), 0u);
}

}  // namespace
}  // namespace latdisp
