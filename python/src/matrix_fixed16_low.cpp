// fixed16<F> matrices for F = 0..7. Every F has kernels of its own (the requantization shift is
// a template parameter), so the 16 widths are split over two files that compile in parallel.
#include "typed_matrix.hpp"

namespace bbs_python {

template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<0>>(bbs::BbsMatrix<bbs::fixed16<0>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<1>>(bbs::BbsMatrix<bbs::fixed16<1>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<2>>(bbs::BbsMatrix<bbs::fixed16<2>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<3>>(bbs::BbsMatrix<bbs::fixed16<3>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<4>>(bbs::BbsMatrix<bbs::fixed16<4>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<5>>(bbs::BbsMatrix<bbs::fixed16<5>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<6>>(bbs::BbsMatrix<bbs::fixed16<6>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<7>>(bbs::BbsMatrix<bbs::fixed16<7>>);

}  // namespace bbs_python
