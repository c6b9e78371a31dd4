// fixed16<F> matrices for F = 8..15 (see matrix_fixed16_low.cpp).
#include "typed_matrix.hpp"

namespace bbs_python {

template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<8>>(bbs::BbsMatrix<bbs::fixed16<8>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<9>>(bbs::BbsMatrix<bbs::fixed16<9>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<10>>(bbs::BbsMatrix<bbs::fixed16<10>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<11>>(bbs::BbsMatrix<bbs::fixed16<11>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<12>>(bbs::BbsMatrix<bbs::fixed16<12>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<13>>(bbs::BbsMatrix<bbs::fixed16<13>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<14>>(bbs::BbsMatrix<bbs::fixed16<14>>);
template std::shared_ptr<AnyMatrix> wrap<bbs::fixed16<15>>(bbs::BbsMatrix<bbs::fixed16<15>>);

}  // namespace bbs_python
