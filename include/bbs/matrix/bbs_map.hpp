// BbsMap<T>: a non-owning bank-balanced matrix over CSB arrays that live elsewhere (loaded,
// memory-mapped, or owned by another library), the analogue of Eigen::Map<SparseMatrix>.
#pragma once

#include <cstdint>

#include "bbs/matrix/matrix_base.hpp"

namespace bbs {

/// Tag that skips validation when wrapping arrays already known to be valid.
struct unchecked_t {
  explicit unchecked_t() = default;
};
inline constexpr unchecked_t unchecked{};

template <typename T>
class BbsMap : public BbsBase<BbsMap<T>> {
 public:
  using Scalar = T;

  /// Wraps canonical CSB arrays of a rows x cols matrix and validates them (O(entries));
  /// throws format_error if the index width does not match the bank size or an invariant fails.
  BbsMap(index rows, index cols, const BankConfig& cfg, const T* values, const std::uint8_t* indices)
      : BbsMap(rows, cols, cfg, values, indices, IndexWidth::u8) {}
  BbsMap(index rows, index cols, const BankConfig& cfg, const T* values, const std::uint16_t* indices)
      : BbsMap(rows, cols, cfg, values, indices, IndexWidth::u16) {}

  /// Wraps arrays without validating them: the caller guarantees the invariants (CsbView::validate).
  BbsMap(unchecked_t, const CsbView<T>& view) : view_(view) {}

  /// A map over a BbsMatrix or another map (no validation needed).
  template <typename OtherDerived>
  explicit BbsMap(const BbsBase<OtherDerived>& other) : view_(other.derived().view()) {}

  /// The mapped arrays. A map keeps no derived arrangements (it cannot know when the arrays it
  /// views change), so backends use their kernels for the canonical layout; copy into a
  /// BbsMatrix for the fastest SIMD path.
  CsbView<T> view() const { return view_; }
  /// The view products hand to the kernel dispatch: view() (a map never drops its arrays).
  CsbView<T> kernelView() const { return view_; }

 private:
  BbsMap(index rows, index cols, const BankConfig& cfg, const T* values, const void* indices, IndexWidth width)
      : view_{rows, cols, cfg, values, indices, nullptr} {
    detail::checked_stored_entries(rows, cols, cfg);
    detail::check_index_width("BbsMap", cfg, width);
    view_.validate();
  }

  CsbView<T> view_;
};

}  // namespace bbs
