// Fallback by tag inheritance, the one mechanism that decides which backend's kernel runs
// (xsimd's requires_arch). A backend is a tag type that derives from the backend it falls back
// to, for example `struct simd : reference {}`. Every operation takes two tags:
//
//   template <typename Backend, typename T>
//   void spmv(Backend tag, requires_backend<simd>, const CsbView<T>& a, ...);
//
// The first is the backend the caller asked for, deduced as it is; the second, a reference to the
// backend this overload is written for, is what overload resolution ranks: a tag binds best to
// its own class, next to its parent, and so on, so the most derived backend that implements an
// operation runs it, and an operation a backend does not write is inherited from its parent. The
// first tag lets an inherited algorithm call back into the caller's backend: the reference's SpMM
// is one SpMV per column on whichever backend asked (backend/common/spmm_by_columns.hpp).
//
// Calls are unqualified, op(tag, tag, ...), so that argument-dependent lookup finds the overloads
// of backends declared after the caller (a module header included later, or a user's own
// backend in namespace bbs::backend).
#pragma once

namespace bbs {
namespace backend {

/// The second parameter of a backend operation: the backend the overload is written for.
template <typename Backend>
using requires_backend = const Backend&;

}  // namespace backend
}  // namespace bbs
