// Forward declarations of the matrix and operand types, so Eigen's traits can name them first.
#pragma once

namespace bbs {

template <typename T>
class BbsMatrix;
template <typename T>
class BbsMap;
template <typename T, typename Backend, bool Transposed>
class MatrixOperand;

}  // namespace bbs
