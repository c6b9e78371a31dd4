"""save -> load round trips of every value type, pickling, and damaged files."""

import os
import pickle
import subprocess

import numpy as np
import pytest

import bbs

TYPES = (["float32", "float64", "bfloat16", "float16"] + [f"fixed16<{f}>" for f in (0, 7, 12, 15)] +
         [f"fixed8<{fw},{fx}>" for fw, fx in ((0, 0), (7, 12), (4, 15))])


def matrix_of_type(rng, kind):
    W = rng.uniform(-0.9, 0.9, (13, 50))
    if kind in ("float32", "float64"):
        return bbs.BbsMatrix.prune(W, 16, keep=3, dtype=kind)
    return bbs.quantize(bbs.BbsMatrix.prune(W, 16, keep=3), kind)[0]


def assert_same(A, B):
    assert (B.dtype, B.shape, B.bank_size, B.keep, B.nnz) == (A.dtype, A.shape, A.bank_size, A.keep, A.nnz)
    np.testing.assert_array_equal(B.to_dense(), A.to_dense())


@pytest.mark.parametrize("kind", TYPES)
def test_save_load_round_trip(rng, tmp_path, kind):
    A = matrix_of_type(rng, kind)
    path = tmp_path / "a.bbs"
    bbs.save(A, path)
    assert_same(A, bbs.load(path))
    A.save(str(path))  # a str works too, and overwrites atomically
    assert_same(A, bbs.load(str(path)))
    F = bbs.load(path, as_float=True)
    assert F.dtype == "float32"
    np.testing.assert_array_equal(F.to_dense(), A.to_dense().astype(np.float32))


@pytest.mark.parametrize("kind", TYPES)
def test_pickle_round_trip(rng, kind):
    A = matrix_of_type(rng, kind)
    assert_same(A, pickle.loads(pickle.dumps(A)))


def test_truncated_file_raises_file_error_naming_the_problem(rng, tmp_path):
    path = tmp_path / "t.bbs"
    bbs.save(matrix_of_type(rng, "float32"), path)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 10)
    with pytest.raises(bbs.FileError, match=r"truncated: the file is \d+ bytes, expected \d+") as caught:
        bbs.load(path)
    assert isinstance(caught.value, OSError) and isinstance(caught.value, bbs.Error)
    assert str(path) in str(caught.value)
    with open(path, "r+b") as f:
        f.truncate(20)
    with pytest.raises(bbs.FileError, match="shorter than the 64-byte CSB header"):
        bbs.load(path)


def test_corrupt_and_missing_files(rng, tmp_path):
    path = tmp_path / "c.bbs"
    bbs.save(matrix_of_type(rng, "float64"), path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(bbs.FileError, match="checksum mismatch"):
        bbs.load(path)
    with pytest.raises(bbs.FileError, match="No such file"):
        bbs.load(tmp_path / "missing.bbs")
    with pytest.raises(bbs.FileError):
        bbs.save(matrix_of_type(rng, "float32"), tmp_path / "no" / "such" / "dir.bbs")


CSB_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models", "csb")


@pytest.mark.parametrize("name", sorted(f[:-4] for f in os.listdir(CSB_FIXTURES) if f.endswith(".bbs")))
def test_same_bytes_as_the_cli_fixtures(name):
    """test/data/models/csb/<case>.bbs is `bbs prune <case>.npy --bank B --keep K --type T` (the C++
    CLI, tools/fixtures/make_model_fixtures.py): pruning and quantizing the same .npy from Python
    gives the same file, byte for byte, and loading the CLI's file gives that matrix."""
    path = os.path.join(CSB_FIXTURES, name + ".bbs")
    stored = bbs.load(path)
    W = np.load(os.path.join(CSB_FIXTURES, name + ".npy"))
    A = bbs.BbsMatrix.prune(W, stored.bank_size, keep=stored.keep,
                            dtype="float64" if stored.dtype == "float64" else "float32")
    if stored.dtype.startswith("fixed16"):
        A, _ = bbs.quantize(A, stored.dtype)
    with open(path, "rb") as f:
        assert A.__getstate__() == f.read()
    assert_same(A, stored)


def fixed8_file(path, raw_values, indices, fw, fx):
    """A 1 x 4 CSB file of fixed8<fw, fx> weights written byte by byte (docs/FILE_FORMAT.md): bank 4,
    keep 2, one-byte values and indices, each section padded to 8 bytes, CRC-32 last."""
    import struct
    import zlib

    payload = bytes(np.array(raw_values, dtype=np.int8).tobytes()).ljust(8, b"\0")
    payload += bytes(indices).ljust(8, b"\0")
    header = b"\x89BBS\r\n\x1a\n" + struct.pack("<IIIIqqIIQ", 1, 32 + 16 * fw + fx, 1, 0, 1, 4, 4, 2, len(payload))
    data = header.ljust(64, b"\0") + payload
    path.write_bytes(data + struct.pack("<I", zlib.crc32(data)))


def test_fixed8_files_written_byte_by_byte_load(tmp_path):
    path = tmp_path / "q8.bbs"
    fixed8_file(path, [64, -128], [1, 3], fw=7, fx=12)
    A = bbs.load(path)
    assert A.dtype == "fixed8<7,12>" and (A.bank_size, A.keep) == (4, 2)
    np.testing.assert_array_equal(A.to_dense(), [[0, 0.5, 0, -1.0]])
    np.testing.assert_array_equal(A @ np.array([1.0, 1.0, 2.0, 0.25]), [0.25])  # fixed16<12> activations
    with open(path, "rb") as f:
        assert A.__getstate__() == f.read()
    F = bbs.load(path, as_float=True)
    assert F.dtype == "float32"
    np.testing.assert_array_equal(F.to_dense(), A.to_dense())


@pytest.mark.skipif("BBS_CLI" not in os.environ, reason="BBS_CLI (the bbs tool) is set by CTest")
@pytest.mark.parametrize("kind", ["fixed8<auto,12>", "fixed8<3,7>", "fixed16<auto>"])
def test_quantized_files_equal_the_bbs_tools(rng, tmp_path, kind):
    """bbs.quantize + save writes the bytes `bbs convert --type T` writes from the same float file,
    and bbs.load reads the tool's file as that matrix."""
    A = bbs.BbsMatrix.prune(rng.uniform(-2.5, 2.5, (9, 40)).astype(np.float32), 8, keep=3)
    source, theirs, ours = (str(tmp_path / name) for name in ("a.bbs", "theirs.bbs", "ours.bbs"))
    bbs.save(A, source)
    subprocess.run([os.environ["BBS_CLI"], "convert", source, theirs, "--type", kind, "--quiet", "--allow-saturation"],
                   check=True, capture_output=True)
    Q, _ = bbs.quantize(A, kind)
    bbs.save(Q, ours)
    with open(theirs, "rb") as f, open(ours, "rb") as g:
        assert f.read() == g.read()
    assert_same(Q, bbs.load(theirs))