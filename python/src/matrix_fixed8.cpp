// fixed8<Fw, Fx> matrices (int8 weights against fixed16<Fx> activations) for Fw = 0..7. Each Fw
// has kernels of its own (the requantization shift); every Fx shares them (wrap_fixed8).
#include "typed_matrix.hpp"

namespace bbs_python {

template std::shared_ptr<AnyMatrix> wrap_fixed8<0>(bbs::BbsMatrix<bbs::fixed8<0, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<1>(bbs::BbsMatrix<bbs::fixed8<1, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<2>(bbs::BbsMatrix<bbs::fixed8<2, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<3>(bbs::BbsMatrix<bbs::fixed8<3, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<4>(bbs::BbsMatrix<bbs::fixed8<4, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<5>(bbs::BbsMatrix<bbs::fixed8<5, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<6>(bbs::BbsMatrix<bbs::fixed8<6, 0>>, int);
template std::shared_ptr<AnyMatrix> wrap_fixed8<7>(bbs::BbsMatrix<bbs::fixed8<7, 0>>, int);

}  // namespace bbs_python
