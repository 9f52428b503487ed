// An exact accumulator for sums of non-negative doubles in [2^-267, 2^288):
// the sum does not depend on the order of additions or on how the values are
// split over ranks, so means are identical for any rank count.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <vector>

namespace latdisp {

class ExactSum {
 public:
  static constexpr int kDigits = 21;    // 32-bit digits
  static constexpr int kLowBit = -320;  // weight of bit 0 of digit 0

  void add(double value);                  // value == 0 or in [2^-267, 2^288); throws otherwise
  void add(double value, uint32_t times);  // value added `times` times, in one step
  void add(const ExactSum& other);
  double to_double() const;  // correctly rounded (to nearest even)
  bool is_zero() const;

  // The exact state (kStateWords integers), for checkpoints.
  static constexpr int kStateWords = kDigits + 1;
  void get_state(int64_t* words) const;
  void set_state(const int64_t* words);

  // Sum-reduces `sums` element-wise onto rank 0 (MPI_Reduce).
  static void reduce_to_root(std::vector<ExactSum>& sums, MPI_Comm comm);

 private:
  void normalize();
  // Adds mantissa * times * 2^(position + kLowBit), times < 2^32.
  void add_scaled(uint64_t mantissa, uint64_t times, int position);
  std::array<int64_t, kDigits> m_digits{};
  int64_t m_pending = 0;  // additions since the last carry propagation
};

}  // namespace latdisp
