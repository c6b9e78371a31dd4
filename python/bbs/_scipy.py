"""SciPy interop that needs SciPy itself: building a BbsMatrix from any scipy.sparse matrix.

SciPy is imported only when from_scipy is called, so `import bbs` works without it.
"""

from typing import Any, Optional

from bbs import _bbs


def from_scipy(S: Any, bank_size: int, keep: Optional[int] = None) -> _bbs.BbsMatrix:
    """A BbsMatrix with the entries of the scipy.sparse matrix S, whose pattern must already be
    bank-balanced: every bank of `bank_size` columns of every row stores exactly `keep` entries
    (a partial last bank min(keep, its width)). Explicitly stored zeros count as entries, as
    they do in SciPy's nnz; duplicates are summed first. `keep` defaults to the entry count of
    the fullest bank. float32 data gives a float32 matrix, anything else float64.

    Raises bbs.FormatError naming the first bank that breaks the pattern (BbsMatrix::fromSparse).
    """
    import scipy.sparse

    if not scipy.sparse.issparse(S):
        raise TypeError(f"bbs.from_scipy: expected a scipy.sparse matrix, got {type(S).__name__}")
    csr = scipy.sparse.csr_matrix(S, copy=True)
    csr.sum_duplicates()  # also sorts the column indices of every row, which fromSparse reads in order
    rows, cols = csr.shape
    return _bbs._from_csr(csr.data, csr.indices, csr.indptr, rows, cols, bank_size, -1 if keep is None else keep)
