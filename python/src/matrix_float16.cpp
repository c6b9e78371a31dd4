// bfloat16 and float16 (half) matrices: 16-bit weights with float32 products.
#include "typed_matrix.hpp"

namespace bbs_python {

template std::shared_ptr<AnyMatrix> wrap<Eigen::bfloat16>(bbs::BbsMatrix<Eigen::bfloat16>);
template std::shared_ptr<AnyMatrix> wrap<Eigen::half>(bbs::BbsMatrix<Eigen::half>);

}  // namespace bbs_python
