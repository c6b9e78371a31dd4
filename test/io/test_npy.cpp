// .npy / .npz reading against files NumPy wrote (test/data/npy, tools/fixtures/make_npy_fixtures.py), the
// errors for every kind of bad file, and save_npy round trips (read back here and by the fixtures'
// reader, which NumPy's files validate).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "source_tree.hpp"  // BBS_TEST_DATA_DIR, BBS_MODELS_DIR, BBS_CLI
#include "testbed.hpp"

namespace {

std::string fixture(const std::string& name) { return std::string(BBS_TEST_DATA_DIR) + "/npy/" + name; }

std::vector<unsigned char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

/// (arange(12).reshape(3, 4) - 5.5) / 4, as the fixtures hold it.
Eigen::MatrixXd reference_matrix() {
  Eigen::MatrixXd m(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) m(i, j) = (4 * i + j - 5.5) / 4;
  return m;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("bbs_npy_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace

TEST_CASE("NumPy's .npy files read back exactly in C and Fortran order", "[io][npy]") {
  const bbs::NpyArray c = bbs::read_npy(fixture("c_order_f4.npy"));
  CHECK(c.dtype == "<f4");
  CHECK(c.shape == std::vector<bbs::index>{3, 4});
  CHECK_FALSE(c.fortran_order);
  CHECK(c.matrix<double>() == reference_matrix());
  CHECK(c.matrix<float>() == reference_matrix().cast<float>());

  const bbs::NpyArray f = bbs::read_npy(fixture("fortran_f8.npy"));
  CHECK(f.dtype == "<f8");
  CHECK(f.fortran_order);
  CHECK(f.matrix<double>() == 3 * reference_matrix());

  const Eigen::MatrixXd v = bbs::read_npy(fixture("vector_f8.npy")).matrix<double>();
  REQUIRE(v.rows() == 5);
  REQUIRE(v.cols() == 1);
  CHECK(v(0) == -1.0);
  CHECK(v(2) == 0.0);
  CHECK(v(4) == 1.0);

  Eigen::MatrixXd ints(2, 2);
  ints << 1, -2, 300, -32768;
  CHECK(bbs::read_npy(fixture("int16.npy")).matrix<double>() == ints);
  Eigen::MatrixXd halves(2, 2);
  halves << 0.5, -1.25, 65504, std::ldexp(1.0, -14);
  CHECK(bbs::read_npy(fixture("half.npy")).matrix<double>() == halves);
}

TEST_CASE("an .npz archive from numpy.savez gives every array by name", "[io][npy]") {
  const auto arrays = bbs::read_npz(fixture("weights.npz"));
  REQUIRE(arrays.size() == 2);
  CHECK(arrays[0].first == "w");
  CHECK(arrays[0].second.matrix<double>() == reference_matrix());
  CHECK(arrays[1].first == "b");
  CHECK(arrays[1].second.matrix<double>() == Eigen::Vector4d(0, 1, 2, 3));
}

TEST_CASE("bad .npy and .npz files are refused with a message that names the defect", "[io][npy]") {
  CHECK_THROWS_WITH(bbs::read_npy(fixture("three_d.npy")).matrix<double>(),
                    Catch::Contains("holds a 3-D array; expected a 2-D matrix or a 1-D vector"));
  CHECK_THROWS_WITH(bbs::read_npy(fixture("big_endian.npy")), Catch::Contains("dtype '>f4' is not supported"));
  CHECK_THROWS_WITH(bbs::read_npy(fixture("complex.npy")), Catch::Contains("dtype '<c8' is not supported"));
  CHECK_THROWS_WITH(bbs::read_npz(fixture("compressed.npz")),
                    Catch::Contains("[w.npy]: the entry is compressed") && Catch::Contains("numpy.savez_compressed"));
  CHECK_THROWS_WITH(bbs::read_npy(fixture("missing.npy")), Catch::Contains("cannot open the file"));
  CHECK_THROWS_WITH(bbs::read_npz(fixture("c_order_f4.npy")), Catch::Contains("not a ZIP archive"));
  CHECK_THROWS_WITH(bbs::read_npy(fixture("weights.npz")), Catch::Contains("not a .npy file"));

  const std::vector<unsigned char> good = bytes_of(fixture("c_order_f4.npy"));
  // Every truncation is an error, never a crash or a short matrix.
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("first " << n << " bytes");
    CHECK_THROWS_AS(bbs::parse_npy(good.data(), n, "cut"), bbs::file_error);
  }
  std::vector<unsigned char> longer = good;
  longer.push_back(0);
  CHECK_THROWS_WITH(bbs::parse_npy(longer.data(), longer.size(), "x"), Catch::Contains("(trailing bytes)"));
  // A header that lies about the shape.
  std::string text(good.begin(), good.end());
  text.replace(text.find("(3, 4)"), 6, "(9, 4)");
  CHECK_THROWS_WITH(bbs::parse_npy(text.data(), text.size(), "x"), Catch::Contains("(truncated)"));
  text = std::string(good.begin(), good.end());
  text.replace(text.find("'shape'"), 7, "'shapf'");
  CHECK_THROWS_WITH(bbs::parse_npy(text.data(), text.size(), "x"),
                    Catch::Contains("malformed .npy header: unexpected key 'shapf'"));
  text = std::string(good.begin(), good.end());
  text.replace(text.find("(3, 4)"), 6, "(3, 4x");
  CHECK_THROWS_WITH(bbs::parse_npy(text.data(), text.size(), "x"), Catch::Contains("expected ',' or ')' in the shape"));

  // A flipped data byte of an archive entry fails its CRC; every truncation of the archive fails.
  std::vector<unsigned char> zip = bytes_of(fixture("weights.npz"));
  const std::vector<unsigned char> original = zip;
  zip[200] ^= 0x01;
  CHECK_THROWS_AS(bbs::parse_npz(zip.data(), zip.size(), "z"), bbs::file_error);
  for (std::size_t n = 0; n < original.size(); n += 7) {
    INFO("first " << n << " bytes");
    CHECK_THROWS_AS(bbs::parse_npz(original.data(), n, "z"), bbs::file_error);
  }
}

TEST_CASE("save_npy writes what read_npy and NumPy read, atomically", "[io][npy]") {
  TempDir dir;
  const Eigen::MatrixXf m = bbs_test::random_dense<float>(37, 5, 3);
  const std::string path = dir.file("m.npy");
  bbs::save_npy(m, path);
  const bbs::NpyArray back = bbs::read_npy(path);
  CHECK(back.dtype == "<f4");
  CHECK(back.matrix<float>() == m);
  // The header is padded to 64 bytes, as NumPy writes it.
  CHECK(bytes_of(path).size() == 128 + 37 * 5 * 4);
  const Eigen::MatrixXd d = reference_matrix();
  bbs::save_npy(d, path);  // replaces the file
  CHECK(bbs::read_npy(path).matrix<double>() == d);
  // Byte-identical to NumPy's own file for the same float32 matrix.
  bbs::save_npy(d.cast<float>(), path);
  CHECK(bytes_of(path) == bytes_of(fixture("c_order_f4.npy")));
  // A failed write leaves nothing behind.
  CHECK_THROWS_AS(bbs::save_npy(d, dir.file("no/such/dir/m.npy")), bbs::file_error);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
}
