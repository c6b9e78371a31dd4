// Tests for the binary CSB file (io/csb_file.hpp) and its CRC-32 (io/checksum.hpp): bitwise round
// trips, atomic saves, and a file_error with a precise message for every kind of bad file.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "testbed.hpp"

namespace fs = std::filesystem;
using bbs::BankConfig;
using bbs_test::Shape;
using Bytes = std::vector<std::uint8_t>;

// Both the type and the message: a rejection must say what was wrong, not just fail.
#define CHECK_FILE_ERROR(expr, fragment)                \
  do {                                                  \
    CHECK_THROWS_AS(expr, bbs::file_error);             \
    CHECK_THROWS_WITH(expr, Catch::Contains(fragment)); \
  } while (false)

namespace {

/// A fresh directory per test case: ctest runs the test cases of this binary in parallel processes.
class TempDir {
 public:
  TempDir() {
    static unsigned counter = 0;
    const auto tag = std::to_string(std::random_device{}()) + "." + std::to_string(counter++);
    path_ = fs::temp_directory_path() / ("bbs_test_csb_file." + tag);
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }
  /// Names in the directory, sorted: shows any temporary file left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename U>
void poke(Bytes& b, std::size_t at, U v) {
  REQUIRE(at + sizeof v <= b.size());
  std::memcpy(b.data() + at, &v, sizeof v);
}

template <typename U>
U peek(const Bytes& b, std::size_t at) {
  U v;
  REQUIRE(at + sizeof v <= b.size());
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

/// Recomputes the trailing CRC after a deliberate edit, so the check under test is reached.
void reseal(Bytes& b) {
  REQUIRE(b.size() >= 4);
  poke<std::uint32_t>(b, b.size() - 4, bbs::crc32(b.data(), b.size() - 4));
}

/// Loads from an exactly sized heap copy, so AddressSanitizer sees any read past the end.
template <typename T>
bbs::BbsMatrix<T> load_exact(const Bytes& b, std::size_t size) {
  std::vector<std::uint8_t> copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(size));
  return bbs::load_from_memory<T>(copy.data(), copy.size());
}

/// Plain bit-at-a-time CRC-32, the definition the table-driven one must agree with.
std::uint32_t crc32_bitwise(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

template <typename T, typename A, typename B>
void require_identical(const bbs::BbsBase<A>& got, const bbs::BbsBase<B>& want) {
  const bbs::CsbView<T> g = got.derived().view();
  const bbs::CsbView<T> w = want.derived().view();
  REQUIRE(g.rows == w.rows);
  REQUIRE(g.cols == w.cols);
  REQUIRE(g.config == w.config);
  REQUIRE(g.stored_entries() == w.stored_entries());
  const auto n = static_cast<std::size_t>(w.stored_entries());
  if (n == 0) return;  // memcmp on null arrays is undefined even for zero bytes
  REQUIRE(std::memcmp(g.values, w.values, n * sizeof(T)) == 0);
  REQUIRE(std::memcmp(g.indices, w.indices, n * static_cast<std::size_t>(w.config.index_width())) == 0);
}

// The small files the corruption tests start from. 3 x 9, bank 4, k 2: a partial last bank with
// padding entries, 18 entries (72 value bytes, 18 index bytes padded to 24), 164 bytes in all.
const Shape small_shape{3, 9, BankConfig(4, 2)};
// 2 x 301, bank 300: 16-bit indices and a padded last bank, 148 bytes in all.
const Shape wide_shape{2, 301, BankConfig(300, 2)};

template <typename T>
Bytes small_file() {
  return bbs::serialize(bbs_test::random_bbs<T>(small_shape, 7));
}

constexpr std::size_t at_version = 8, at_type = 12, at_width = 16, at_flags = 20, at_rows = 24, at_cols = 32,
                      at_bank = 40, at_k = 44, at_payload = 48;

}  // namespace

TEST_CASE("crc32 is zlib's CRC-32", "[io][checksum]") {
  const char* check = "123456789";
  CHECK(bbs::crc32(check, 9) == 0xCBF43926u);
  CHECK(bbs::crc32(nullptr, 0) == 0u);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(bbs::crc32(fox.data(), fox.size()) == 0x414FA339u);

  std::mt19937 gen(3);
  Bytes data(1000);
  for (auto& b : data) b = static_cast<std::uint8_t>(gen());
  // Every start alignment and every length up to 64 exercises both the 8-byte and the tail loop.
  for (std::size_t start = 0; start < 8; ++start) {
    for (std::size_t n = 0; n <= 64; ++n) {
      REQUIRE(bbs::crc32(data.data() + start, n) == crc32_bitwise(data.data() + start, n));
    }
  }
  const std::uint32_t whole = bbs::crc32(data.data(), data.size());
  CHECK(whole == crc32_bitwise(data.data(), data.size()));
  for (std::size_t split = 0; split <= data.size(); split += 7) {
    const std::uint32_t first = bbs::crc32_update(0, data.data(), split);
    REQUIRE(bbs::crc32_update(first, data.data() + split, data.size() - split) == whole);
  }
}

TEMPLATE_TEST_CASE("round trip is bitwise exact on every tiny shape", "[io][csb_file]", float, double) {
  TempDir dir;
  const auto shapes = bbs_test::tiny_shapes();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    INFO(s.name());
    const auto a = bbs_test::random_bbs<TestType>(s, static_cast<std::uint32_t>(i));
    const Bytes bytes = bbs::serialize(a);
    const auto b = bbs::load_from_memory<TestType>(bytes.data(), bytes.size());
    require_identical<TestType>(b, a);
    REQUIRE(bbs::serialize(b) == bytes);
    // A sample (0-row and 0-column shapes included) also goes through a real file.
    if (i % 37 == 0 || ((s.rows == 0 || s.cols == 0) && i % 5 == 0)) {
      const std::string path = dir.file("tiny.bbs");
      bbs::save(a, path);
      REQUIRE(read_file(path) == bytes);
      require_identical<TestType>(bbs::load<TestType>(path), a);
    }
  }
  CHECK(dir.entries() == std::vector<std::string>{"tiny.bbs"});
}

TEMPLATE_TEST_CASE("round trip through files on awkward and large shapes, 8- and 16-bit indices", "[io][csb_file]",
                   float, double) {
  TempDir dir;
  auto shapes = bbs_test::awkward_shapes();
  for (const Shape& s : bbs_test::large_shapes()) shapes.push_back(s);
  int wide = 0;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    INFO(s.name());
    const auto a = bbs_test::random_bbs<TestType>(s, static_cast<std::uint32_t>(100 + i));
    const std::string path = dir.file("m" + std::to_string(i) + ".bbs");
    bbs::save(a, path);
    const auto b = bbs::load<TestType>(path);
    require_identical<TestType>(b, a);
    CHECK(b.indexWidth() == s.config.index_width());
    if (b.indexWidth() == bbs::IndexWidth::u16) ++wide;
    CHECK(fs::file_size(path) == 68 + bbs::read_header(path).payload_bytes);
  }
  CHECK(wide >= 3);
  CHECK(dir.entries().size() == shapes.size());
}

TEMPLATE_TEST_CASE("round trip keeps special values bit for bit", "[io][csb_file]", float, double) {
  // 16 columns in banks of 8: no padding entries, so any stored value may be set.
  auto a = bbs_test::random_bbs<TestType>({4, 16, BankConfig(8, 4)}, 11);
  using Bits = std::conditional_t<sizeof(TestType) == 4, std::uint32_t, std::uint64_t>;
  const Bits quiet_nan_with_payload = sizeof(TestType) == 4 ? Bits(0x7FC01234u) : Bits(0x7FF8000000001234ull);
  TestType* v = a.valueData();
  v[0] = -TestType(0);
  v[1] = std::numeric_limits<TestType>::infinity();
  v[2] = -std::numeric_limits<TestType>::infinity();
  v[3] = std::numeric_limits<TestType>::denorm_min();
  std::memcpy(&v[4], &quiet_nan_with_payload, sizeof(TestType));
  v[5] = std::numeric_limits<TestType>::max();

  TempDir dir;
  bbs::save(a, dir.file("special.bbs"));
  const auto b = bbs::load<TestType>(dir.file("special.bbs"));
  require_identical<TestType>(b, a);
  Bits got;
  std::memcpy(&got, b.valueData() + 4, sizeof got);
  CHECK(got == quiet_nan_with_payload);
  CHECK(std::signbit(b.valueData()[0]));
}

TEST_CASE("a huge shape that stores nothing loads and saves without walking its rows", "[io][csb_file]") {
  // 2^40 x 5 with nnz_per_bank 0 and 2^62 x 0: valid, empty, and found by the fuzzer to hang any
  // validation that loops over rows x banks.
  for (const auto& shape : {std::pair<std::int64_t, std::int64_t>{std::int64_t(1) << 40, 5},
                            std::pair<std::int64_t, std::int64_t>{std::int64_t(1) << 62, 0}}) {
    Bytes b = bbs::serialize(bbs::BbsMatrix<double>(0, 0, BankConfig(2, 0)));
    poke<std::int64_t>(b, at_rows, shape.first);
    poke<std::int64_t>(b, at_cols, shape.second);
    reseal(b);
    const auto m = bbs::load_from_memory<double>(b.data(), b.size());
    CHECK(m.rows() == shape.first);
    CHECK(m.cols() == shape.second);
    CHECK(m.storedEntries() == 0);
    CHECK(bbs::serialize(m) == b);
  }
}

TEMPLATE_TEST_CASE("a BbsMap saves exactly like the matrix it views", "[io][csb_file]", float, double) {
  TempDir dir;
  for (const Shape& s : {Shape{17, 70, BankConfig(32, 20)}, Shape{9, 513, BankConfig(257, 3)}}) {
    INFO(s.name());
    const auto a = bbs_test::random_bbs<TestType>(s, 5);
    const auto map = s.config.index_width() == bbs::IndexWidth::u8
                         ? bbs::BbsMap<TestType>(a.rows(), a.cols(), s.config, a.valueData(),
                                                 static_cast<const std::uint8_t*>(a.indexData()))
                         : bbs::BbsMap<TestType>(a.rows(), a.cols(), s.config, a.valueData(),
                                                 static_cast<const std::uint16_t*>(a.indexData()));
    CHECK(bbs::serialize(map) == bbs::serialize(a));
    bbs::save(map, dir.file("map.bbs"));
    require_identical<TestType>(bbs::load<TestType>(dir.file("map.bbs")), a);
  }
}

TEST_CASE("the file layout is the documented one", "[io][csb_file]") {
  const auto a = bbs_test::random_bbs<float>(small_shape, 7);
  const Bytes b = bbs::serialize(a);
  const std::uint8_t magic[8] = {0x89, 'B', 'B', 'S', '\r', '\n', 0x1A, '\n'};
  REQUIRE(b.size() == 164u);  // 64 header + 72 values + (18 + 6 padding) indices + 4 CRC
  CHECK(std::memcmp(b.data(), magic, 8) == 0);
  CHECK(peek<std::uint32_t>(b, at_version) == 1u);
  CHECK(peek<std::uint32_t>(b, at_type) == 1u);
  CHECK(peek<std::uint32_t>(b, at_width) == 1u);
  CHECK(peek<std::uint32_t>(b, at_flags) == 0u);
  CHECK(peek<std::int64_t>(b, at_rows) == 3);
  CHECK(peek<std::int64_t>(b, at_cols) == 9);
  CHECK(peek<std::uint32_t>(b, at_bank) == 4u);
  CHECK(peek<std::uint32_t>(b, at_k) == 2u);
  CHECK(peek<std::uint64_t>(b, at_payload) == 96u);
  for (std::size_t i = 56; i < 64; ++i) CHECK(b[i] == 0);
  CHECK(std::memcmp(b.data() + 64, a.valueData(), 72) == 0);
  CHECK(std::memcmp(b.data() + 136, a.indexData(), 18) == 0);
  for (std::size_t i = 154; i < 160; ++i) CHECK(b[i] == 0);
  CHECK(peek<std::uint32_t>(b, 160) == crc32_bitwise(b.data(), 160));
}

TEST_CASE("read_header reports shape, bank configuration, value type and index width", "[io][csb_file]") {
  TempDir dir;
  const auto a = bbs_test::random_bbs<double>({9, 513, BankConfig(257, 3)}, 1);
  bbs::save(a, dir.file("h.bbs"));
  const bbs::FileHeader h = bbs::read_header(dir.file("h.bbs"));
  CHECK(h.version == 1u);
  CHECK(h.value_type_code == 2u);
  CHECK(h.value_type_name == "float64");
  CHECK(h.index_width == bbs::IndexWidth::u16);
  CHECK(h.rows == 9);
  CHECK(h.cols == 513);
  CHECK(h.config == BankConfig(257, 3));
  CHECK(h.stored_entries == 9 * 2 * 3);
  CHECK(h.payload_bytes == 54u * 8 + 112);  // 108 index bytes padded to 112

  // A type this build does not know is reported, not rejected: tools can still describe the file.
  Bytes b = bbs::serialize(a);
  poke<std::uint32_t>(b, at_type, 777);
  const bbs::FileHeader u = bbs::read_header_from_memory(b.data(), b.size());
  CHECK(u.value_type_code == 777u);
  CHECK(u.value_type_name == "unknown");

  CHECK_FILE_ERROR(bbs::read_header(dir.file("absent.bbs")), "No such file");
  write_file(dir.file("short.bbs"), Bytes(b.begin(), b.begin() + 63));
  CHECK_FILE_ERROR(bbs::read_header(dir.file("short.bbs")), "63 bytes, shorter than the 64-byte CSB header");
}

TEST_CASE("save is atomic and cleans up after every failure", "[io][csb_file]") {
  TempDir dir;
  const auto a = bbs_test::random_bbs<float>(small_shape, 1);
  const auto b = bbs_test::random_bbs<float>(small_shape, 2);
  const std::string path = dir.file("m.bbs");

  bbs::save(a, path);
  CHECK(dir.entries() == std::vector<std::string>{"m.bbs"});
  require_identical<float>(bbs::load<float>(path), a);
  bbs::save(b, path);  // replaces the old file in one step
  CHECK(dir.entries() == std::vector<std::string>{"m.bbs"});
  require_identical<float>(bbs::load<float>(path), b);

  SECTION("into a directory that does not exist") {
    const std::string missing = dir.file("missing/m.bbs");
    CHECK_FILE_ERROR(bbs::save(a, missing), "missing/m.bbs");
    CHECK_FILE_ERROR(bbs::save(a, missing), "No such file or directory");
    CHECK_FILE_ERROR(bbs::save(a, missing), "creating the temporary file");
    CHECK_FALSE(fs::exists(dir.path() / "missing"));
    CHECK(dir.entries() == std::vector<std::string>{"m.bbs"});
  }
  SECTION("onto a name that is a directory: the rename fails and the temporary file goes") {
    fs::create_directory(dir.path() / "sub");
    fs::create_directory(dir.path() / "sub" / "inner");  // a non-empty directory cannot be replaced
    CHECK_FILE_ERROR(bbs::save(a, dir.file("sub")), "renaming");
    CHECK(dir.entries() == (std::vector<std::string>{"m.bbs", "sub"}));
    CHECK(fs::is_directory(dir.path() / "sub" / "inner"));
  }
  SECTION("a matrix that breaks a CSB invariant is refused before anything is written") {
    const float values[2] = {1, 2};
    const std::uint8_t indices[2] = {1, 1};  // not increasing
    const bbs::BbsMap<float> bad(bbs::unchecked, bbs::CsbView<float>{1, 4, BankConfig(4, 2), values, indices});
    CHECK_THROWS_AS(bbs::save(bad, dir.file("bad.bbs")), bbs::format_error);
    CHECK_THROWS_AS(bbs::serialize(bad), bbs::format_error);
    CHECK(dir.entries() == std::vector<std::string>{"m.bbs"});
  }
}

TEST_CASE("load rejects missing, unreadable and too short files", "[io][csb_file]") {
  TempDir dir;
  CHECK_FILE_ERROR(bbs::load<float>(dir.file("absent.bbs")), "absent.bbs");
  CHECK_FILE_ERROR(bbs::load<float>(dir.file("absent.bbs")), "cannot open the file: No such file or directory");
  CHECK_FILE_ERROR(bbs::load<float>(dir.path().string()), "not a regular file");
  write_file(dir.file("empty.bbs"), {});
  CHECK_FILE_ERROR(bbs::load<float>(dir.file("empty.bbs")), "0 bytes, shorter than the 64-byte CSB header");
  const Bytes b = small_file<float>();
  write_file(dir.file("ten.bbs"), Bytes(b.begin(), b.begin() + 10));
  CHECK_FILE_ERROR(bbs::load<float>(dir.file("ten.bbs")), "10 bytes, shorter than the 64-byte CSB header");
  CHECK_FILE_ERROR(bbs::load_from_memory<float>(nullptr, 0), "0 bytes");
}

TEST_CASE("load rejects a bad header with a precise message", "[io][csb_file]") {
  const Bytes good = small_file<float>();
  REQUIRE_NOTHROW(bbs::load_from_memory<float>(good.data(), good.size()));
  const auto edit = [&](auto&& change) {
    Bytes b = good;
    change(b);
    reseal(b);
    return b;
  };
  const auto load = [](const Bytes& b) { return bbs::load_from_memory<float>(b.data(), b.size()); };

  SECTION("magic") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { b[1] = 'b'; })), "bad magic: expected 89 42 42 53 0d 0a 1a 0a");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { b[1] = 'b'; })), "found 89 62 42 53 0d 0a 1a 0a");
    // CR LF -> LF, as a text-mode transfer does.
    Bytes text = good;
    text.erase(text.begin() + 4);
    CHECK_FILE_ERROR(load(text), "text-mode transfer");
  }
  SECTION("version") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_version, 2); })),
                     "unsupported CSB file version 2; this bbs reads version 1");
  }
  SECTION("value type") {
    const Bytes doubles = small_file<double>();
    CHECK_FILE_ERROR(load(doubles), "the file holds float64 values (type code 2); load was asked for float32");
    CHECK_FILE_ERROR(bbs::load_from_memory<double>(good.data(), good.size()),
                     "the file holds float32 values (type code 1); load was asked for float64");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_type, 999); })), "unknown value type code 999");
  }
  SECTION("index width") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_width, 3); })),
                     "index width of 3 bytes is invalid");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_width, 2); })),
                     "index width of 2 bytes does not match bank_size 4, which needs 1-byte indices");
  }
  SECTION("flags and reserved bytes") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_flags, 1); })),
                     "flags field is 0x00000001; version 1 defines no flags and expects 0");
    for (std::size_t at = 56; at < 64; ++at) {
      CHECK_FILE_ERROR(load(edit([&](Bytes& b) { b[at] = 0x20; })),
                       "reserved header byte at offset " + std::to_string(at) + " is 20");
    }
  }
  SECTION("bank configuration") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_bank, 0); })),
                     "invalid bank configuration: bank_size 0, expected 1..65536");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_bank, 70000); })),
                     "invalid bank configuration: bank_size 70000");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint32_t>(b, at_k, 5); })),
                     "invalid bank configuration: nnz_per_bank 5 exceeds bank_size 4");
  }
  SECTION("negative or overflowing shape, never allocated") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::int64_t>(b, at_rows, -1); })), "negative matrix shape -1 x 9");
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::int64_t>(b, at_cols, -9); })), "negative matrix shape 3 x -9");
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    // Column counts at the top of the range (a fuzzer once found num_banks overflowing there).
    for (const std::int64_t cols : {max, max - 1, max - 3}) {
      CHECK_FILE_ERROR(load(edit([&](Bytes& b) { poke<std::int64_t>(b, at_cols, cols); })), "overflow");
    }
    CHECK_FILE_ERROR(load(edit([&](Bytes& b) { poke<std::int64_t>(b, at_cols, max - 4); })),
                     "entries overflow the entry count");
    CHECK_FILE_ERROR(load(edit([&](Bytes& b) { poke<std::int64_t>(b, at_rows, max / 2); })),
                     "entries overflow the entry count");
    // A rows x 1 matrix with one entry per row (bank 1, k 1).
    const auto column_of = [](std::int64_t rows) {
      return [rows](Bytes& b) {
        poke<std::int64_t>(b, at_rows, rows);
        poke<std::int64_t>(b, at_cols, 1);
        poke<std::uint32_t>(b, at_bank, 1);
        poke<std::uint32_t>(b, at_k, 1);
      };
    };
    // 2^62 entries of 5 bytes: the count fits, its byte size does not.
    CHECK_FILE_ERROR(load(edit(column_of(std::int64_t(1) << 62))), "overflows the addressable file size");
    // 2^60 entries: 5 * 2^60 bytes is representable, and the file is far too short for it.
    const auto big = column_of(std::int64_t(1) << 60);
    CHECK_FILE_ERROR(load(edit(big)), "the header's payload byte count is 96, but a 1152921504606846976 x 1 matrix");
    const std::uint64_t payload = (std::uint64_t(1) << 60) * 4 + (std::uint64_t(1) << 60);
    CHECK_FILE_ERROR(load(edit([&](Bytes& b) {
                       big(b);
                       poke<std::uint64_t>(b, at_payload, payload);
                     })),
                     "truncated: the file is 164 bytes, expected " + std::to_string(payload + 68));
  }
  SECTION("payload size, truncation, trailing garbage") {
    CHECK_FILE_ERROR(load(edit([](Bytes& b) { poke<std::uint64_t>(b, at_payload, 104); })),
                     "the header's payload byte count is 104, but a 3 x 9 matrix with bank_size 4 and nnz_per_bank 2 "
                     "of float32 values and 1-byte indices needs 96");
    CHECK_FILE_ERROR(load(Bytes(good.begin(), good.end() - 10)), "truncated: the file is 154 bytes, expected 164");
    Bytes longer = good;
    longer.push_back(0);
    CHECK_FILE_ERROR(load(longer), "trailing garbage: the file is 165 bytes, expected 164");
  }
  SECTION("checksum") {
    Bytes b = good;
    b[100] ^= 0x10;
    CHECK_FILE_ERROR(load(b), "checksum mismatch: the file stores CRC-32 0x");
    Bytes c = good;
    c[163] ^= 0x01;
    CHECK_FILE_ERROR(load(c), "checksum mismatch");
  }
}

TEST_CASE("load rejects a payload that breaks the CSB invariants, after the checksum", "[io][csb_file]") {
  const auto a = bbs_test::random_bbs<float>(small_shape, 7);
  const Bytes good = bbs::serialize(a);
  const auto load = [](const Bytes& b) { return bbs::load_from_memory<float>(b.data(), b.size()); };
  const std::size_t idx = 64 + 72;  // first index byte
  const std::size_t nb = 3;

  Bytes out_of_bank = good;
  out_of_bank[idx] = 4;
  CHECK_FILE_ERROR(load(out_of_bank), "checksum mismatch");  // contents are trusted only after the CRC
  reseal(out_of_bank);
  CHECK_FILE_ERROR(load(out_of_bank), "the payload breaks a CSB invariant: CSB: row 0 bank 0 slot 0");
  CHECK_FILE_ERROR(load(out_of_bank), "in-bank index 4 is not below bank_size 4");

  Bytes repeated = good;
  repeated[idx + nb] = repeated[idx];  // slot 1 of bank 0 repeats slot 0
  reseal(repeated);
  CHECK_FILE_ERROR(load(repeated), "does not increase");

  // Bank 2 holds column 8 only; its second slot is padding and must hold zero.
  Bytes padding = good;
  const std::size_t e = 1 * nb + 2;  // row 0, slot 1, bank 2
  REQUIRE(2 * 4 + good[idx + e] >= 9);
  poke<float>(padding, 64 + 4 * e, 1.5f);
  reseal(padding);
  CHECK_FILE_ERROR(load(padding), "holds a nonzero value");

  Bytes index_pad = good;
  index_pad[idx + 18] = 1;
  reseal(index_pad);
  CHECK_FILE_ERROR(load(index_pad), "alignment padding byte at offset 154 is 01; expected 00");

  // 3 float values (12 bytes) leave 4 padding bytes in the value section.
  Bytes value_pad = bbs::serialize(bbs_test::random_bbs<float>({1, 3, BankConfig(4, 3)}, 1));
  REQUIRE(value_pad.size() == 64 + 16 + 8 + 4);
  value_pad[64 + 13] = 0xFF;
  reseal(value_pad);
  CHECK_FILE_ERROR(load(value_pad), "alignment padding byte at offset 77 is ff; expected 00");
}

TEST_CASE("truncation at every byte offset throws file_error", "[io][csb_file]") {
  const Bytes floats = small_file<float>();
  const Bytes doubles = bbs::serialize(bbs_test::random_bbs<double>(wide_shape, 3));
  REQUIRE(doubles.size() == 148u);
  for (std::size_t n = 0; n < floats.size(); ++n) CHECK_THROWS_AS(load_exact<float>(floats, n), bbs::file_error);
  for (std::size_t n = 0; n < doubles.size(); ++n) CHECK_THROWS_AS(load_exact<double>(doubles, n), bbs::file_error);
  CHECK_NOTHROW(load_exact<float>(floats, floats.size()));
  CHECK_NOTHROW(load_exact<double>(doubles, doubles.size()));

  TempDir dir;
  for (std::size_t n = 0; n < floats.size(); n += 9) {
    write_file(dir.file("cut.bbs"), Bytes(floats.begin(), floats.begin() + static_cast<std::ptrdiff_t>(n)));
    CHECK_THROWS_AS(bbs::load<float>(dir.file("cut.bbs")), bbs::file_error);
  }
}

TEST_CASE("corrupting any single byte throws file_error", "[io][csb_file]") {
  // CRC-32 detects every error confined to 32 consecutive bits, so no byte of the file is unguarded.
  const Bytes floats = small_file<float>();
  const Bytes doubles = bbs::serialize(bbs_test::random_bbs<double>(wide_shape, 3));
  for (const std::uint8_t flip : {std::uint8_t(0x01), std::uint8_t(0x80), std::uint8_t(0xFF)}) {
    for (std::size_t at = 0; at < floats.size(); ++at) {
      Bytes b = floats;
      b[at] ^= flip;
      INFO("float file, byte " << at << " xor " << int(flip));
      CHECK_THROWS_AS(load_exact<float>(b, b.size()), bbs::file_error);
    }
    for (std::size_t at = 0; at < doubles.size(); ++at) {
      Bytes b = doubles;
      b[at] ^= flip;
      INFO("double file, byte " << at << " xor " << int(flip));
      CHECK_THROWS_AS(load_exact<double>(b, b.size()), bbs::file_error);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixed point: type code 16 + F for fixed16<F> (2-byte values), 32 + 16 Fw + Fx for fixed8<Fw, Fx>
// (1-byte values); the fraction widths are checked on load.

namespace {

/// A fixed-point matrix quantized from a random float one, scaled to use the format's range.
template <typename Q>
bbs::BbsMatrix<Q> random_fixed(const Shape& s, std::uint32_t seed) {
  const int magnitude_bits = 8 * static_cast<int>(sizeof(Q)) - 2 - Q::frac_bits / 2;
  const Eigen::MatrixXf dense = bbs_test::random_dense<float>(s.rows, s.cols, seed) * float(1 << magnitude_bits);
  return bbs::quantize<Q>(bbs::prune<float>(dense, s.config)).value;
}

}  // namespace

TEMPLATE_TEST_CASE("fixed-point round trip is bitwise exact and records F", "[io][csb_file][fixed_point]",
                   bbs::fixed16<0>, bbs::fixed16<12>, bbs::fixed16<15>, (bbs::fixed8<0, 0>), (bbs::fixed8<7, 12>)) {
  using Q = TestType;
  TempDir dir;
  auto shapes = bbs_test::awkward_shapes();
  const auto tiny = bbs_test::tiny_shapes();
  for (std::size_t i = 0; i < tiny.size(); i += 11) shapes.push_back(tiny[i]);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    INFO(s.name());
    const auto a = random_fixed<Q>(s, static_cast<std::uint32_t>(300 + i));
    const Bytes bytes = bbs::serialize(a);
    CHECK(peek<std::uint32_t>(bytes, at_type) == bbs::value_traits<Q>::file_code);
    const auto n = static_cast<std::uint64_t>(a.storedEntries());
    const std::uint64_t width = static_cast<std::uint64_t>(s.config.index_width());
    CHECK(bytes.size() == 68 + (n * sizeof(Q) + 7) / 8 * 8 + (n * width + 7) / 8 * 8);
    require_identical<Q>(bbs::load_from_memory<Q>(bytes.data(), bytes.size()), a);
    if (i % 5 == 0) {
      const std::string path = dir.file("q.bbs");
      bbs::save(a, path);
      require_identical<Q>(bbs::load<Q>(path), a);
      const bbs::FileHeader h = bbs::read_header(path);
      CHECK(h.value_type_code == bbs::value_traits<Q>::file_code);
      CHECK(h.value_type_name == bbs::value_traits<Q>::name);
    }
  }
}

TEST_CASE("load rejects a fixed-point file of another F or type with a precise message",
          "[io][csb_file][fixed_point]") {
  const Bytes q12 = bbs::serialize(random_fixed<bbs::fixed16<12>>(small_shape, 5));
  CHECK_NOTHROW(bbs::load_from_memory<bbs::fixed16<12>>(q12.data(), q12.size()));
  CHECK_FILE_ERROR(bbs::load_from_memory<bbs::fixed16<8>>(q12.data(), q12.size()),
                   "the file holds fixed16<12> values (type code 28); load was asked for fixed16<8> (type code 24); "
                   "the fraction widths differ (file F = 12, requested F = 8)");
  CHECK_FILE_ERROR(bbs::load_from_memory<float>(q12.data(), q12.size()),
                   "the file holds fixed16<12> values (type code 28); load was asked for float32 (type code 1)");
  const Bytes floats = small_file<float>();
  CHECK_FILE_ERROR(bbs::load_from_memory<bbs::fixed16<12>>(floats.data(), floats.size()),
                   "the file holds float32 values (type code 1); load was asked for fixed16<12> (type code 28)");
  // int8 weights are another type, whatever their fraction widths.
  const Bytes w8 = bbs::serialize(random_fixed<bbs::fixed8<7, 12>>(small_shape, 6));
  CHECK_FILE_ERROR(bbs::load_from_memory<bbs::fixed16<12>>(w8.data(), w8.size()),
                   "the file holds fixed8<7,12> values (type code 156); load was asked for fixed16<12> (type code 28)");
  using W6 = bbs::fixed8<6, 12>;
  CHECK_FILE_ERROR(
      bbs::load_from_memory<W6>(w8.data(), w8.size()),
      "the file holds fixed8<7,12> values (type code 156); load was asked for fixed8<6,12> (type code 140)");
  // Codes past the last fixed8 format are unknown, not some F.
  Bytes unknown = q12;
  poke<std::uint32_t>(unknown, at_type, 160);
  reseal(unknown);
  CHECK_FILE_ERROR(bbs::load_from_memory<bbs::fixed16<12>>(unknown.data(), unknown.size()),
                   "unknown value type code 160");
  // Every truncation and every corrupted byte is still caught (2-byte values, padded sections).
  for (std::size_t n = 0; n < q12.size(); ++n) CHECK_THROWS_AS(load_exact<bbs::fixed16<12>>(q12, n), bbs::file_error);
  for (std::size_t at = 0; at < q12.size(); ++at) {
    Bytes b = q12;
    b[at] ^= 0x10;
    INFO("byte " << at);
    CHECK_THROWS_AS(load_exact<bbs::fixed16<12>>(b, b.size()), bbs::file_error);
  }
}

// ---------------------------------------------------------------------------------------------
// bfloat16 (type code 3) and half (type code 4): 2-byte values, bit for bit.

TEMPLATE_TEST_CASE("16-bit float round trip is bitwise exact", "[io][csb_file][float16]", Eigen::bfloat16,
                   Eigen::half) {
  TempDir dir;
  auto shapes = bbs_test::awkward_shapes();
  const auto tiny = bbs_test::tiny_shapes();
  for (std::size_t i = 0; i < tiny.size(); i += 13) shapes.push_back(tiny[i]);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    INFO(s.name());
    const auto a = bbs::quantize<TestType>(bbs_test::random_bbs<float>(s, static_cast<std::uint32_t>(500 + i))).value;
    const Bytes bytes = bbs::serialize(a);
    CHECK(peek<std::uint32_t>(bytes, at_type) == bbs::value_traits<TestType>::file_code);
    const auto n = static_cast<std::uint64_t>(a.storedEntries());
    CHECK(bytes.size() ==
          68 + (n * 2 + 7) / 8 * 8 + (n * static_cast<std::uint64_t>(s.config.index_width()) + 7) / 8 * 8);
    require_identical<TestType>(bbs::load_from_memory<TestType>(bytes.data(), bytes.size()), a);
    if (i % 5 == 0) {
      bbs::save(a, dir.file("h.bbs"));
      require_identical<TestType>(bbs::load<TestType>(dir.file("h.bbs")), a);
      CHECK(bbs::read_header(dir.file("h.bbs")).value_type_name == bbs::value_traits<TestType>::name);
    }
  }
}

TEST_CASE("load tells bfloat16, half and float files apart", "[io][csb_file][float16]") {
  const auto a = bbs_test::random_bbs<float>(small_shape, 3);
  const Bytes bf = bbs::serialize(bbs::quantize<Eigen::bfloat16>(a).value);
  const Bytes hf = bbs::serialize(bbs::quantize<Eigen::half>(a).value);
  CHECK_FILE_ERROR(bbs::load_from_memory<Eigen::half>(bf.data(), bf.size()),
                   "the file holds bfloat16 values (type code 3); load was asked for float16 (type code 4)");
  CHECK_FILE_ERROR(bbs::load_from_memory<Eigen::bfloat16>(hf.data(), hf.size()),
                   "the file holds float16 values (type code 4); load was asked for bfloat16 (type code 3)");
  CHECK_FILE_ERROR(bbs::load_from_memory<float>(bf.data(), bf.size()),
                   "the file holds bfloat16 values (type code 3); load was asked for float32 (type code 1)");
  CHECK_FILE_ERROR(bbs::load_from_memory<bbs::fixed16<8>>(hf.data(), hf.size()),
                   "the file holds float16 values (type code 4); load was asked for fixed16<8> (type code 24)");
  for (std::size_t at = 0; at < bf.size(); ++at) {
    Bytes b = bf;
    b[at] ^= 0x04;
    INFO("byte " << at);
    CHECK_THROWS_AS(load_exact<Eigen::bfloat16>(b, b.size()), bbs::file_error);
  }
}

// ---------------------------------------------------------------------------------------------
// Value types chosen at run time: save_as_type writes the bytes save() writes for the typed
// quantized matrix, and load_as_float reads any type back as the floats it stands for.

namespace {

template <typename Q>
void check_any_type_round_trip(const bbs::BbsMatrix<float>& a, const std::string& dir) {
  INFO(bbs::value_traits<Q>::name);
  const std::string path = dir + "/any.bbs";
  const bbs::QuantizationReport report = bbs::save_as_type(a, bbs::value_traits<Q>::file_code, path);
  bbs::BbsMatrix<Q> typed;
  if constexpr (std::is_floating_point<Q>::value) {
    typed = bbs::load<Q>(path);
    CHECK(report.max_abs_error == 0);
  } else {
    const auto q = bbs::quantize<Q>(a);
    typed = q.value;
    CHECK(report.count == q.report.count);
    CHECK(report.saturated == q.report.saturated);
    CHECK(report.max_abs_error == q.report.max_abs_error);
  }
  CHECK(report.count == a.nonZeros());  // real entries only, not the padding
  // Byte for byte what the typed save writes.
  CHECK(read_file(path) == bbs::serialize(typed));
  // And read back as floats: exact for every type whose values float holds.
  const bbs::BbsMatrix<float> back = bbs::load_as_float(path);
  CHECK(back.toDense() == bbs::dequantize(typed).toDense());
  const Bytes bytes = bbs::serialize(typed);
  CHECK(bbs::load_as_float_from_memory(bytes.data(), bytes.size()).toDense() == back.toDense());
}

}  // namespace

TEST_CASE("save_as_type and load_as_float handle every value type at run time", "[io][csb_file][any_type]") {
  TempDir dir;
  const Shape s{29, 100, bbs::BankConfig(32, 5)};  // a partial last bank: padding entries too
  const bbs::BbsMatrix<float> a = bbs::prune<float>(bbs_test::random_dense<float>(s.rows, s.cols, 77) * 3.0f, s.config);
  check_any_type_round_trip<float>(a, dir.path().string());
  check_any_type_round_trip<double>(a, dir.path().string());
  check_any_type_round_trip<Eigen::bfloat16>(a, dir.path().string());
  check_any_type_round_trip<Eigen::half>(a, dir.path().string());
  check_any_type_round_trip<bbs::fixed16<0>>(a, dir.path().string());
  check_any_type_round_trip<bbs::fixed16<13>>(a, dir.path().string());  // saturates
  check_any_type_round_trip<bbs::fixed8<0, 5>>(a, dir.path().string());
  check_any_type_round_trip<bbs::fixed8<5, 12>>(a, dir.path().string());
  check_any_type_round_trip<bbs::fixed8<7, 15>>(a, dir.path().string());

  const std::string path = dir.file("x.bbs");
  CHECK_THROWS_WITH(bbs::save_as_type(a, 999, path), Catch::Contains("unknown value type code 999"));
  CHECK_FALSE(std::filesystem::exists(path));
  bbs::BbsMatrix<float> nan = a;
  nan.valueData()[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(
      bbs::save_as_type(nan, bbs::value_traits<bbs::fixed8<5, 12>>::file_code, path),
      Catch::Contains("quantize to fixed8<5,12>: entry (0, ") && Catch::Contains(") is nan; only finite values"));
  CHECK_FALSE(std::filesystem::exists(path));
  Bytes unknown = bbs::serialize(a);
  poke<std::uint32_t>(unknown, at_type, 170);
  reseal(unknown);
  write_file(path, unknown);
  CHECK_THROWS_WITH(bbs::load_as_float(path), Catch::Contains("unknown value type code 170"));
}

TEST_CASE("parse_value_type reads every value type's name back, and refuses others by name", "[io][any_type]") {
  using Kind = bbs::ValueTypeSpec::Kind;
  std::vector<std::uint32_t> codes = {1, 2, 3, 4};
  for (std::uint32_t c = bbs::detail::fixed16_first_code; c < bbs::detail::fixed_codes_end; ++c) codes.push_back(c);
  for (const std::uint32_t code : codes) {
    const std::string name = bbs::value_type_name(code);
    REQUIRE(name != "unknown");
    CHECK(bbs::parse_value_type(name).code() == code);
  }
  CHECK(bbs::parse_value_type("fixed16:12").code() == bbs::value_traits<bbs::fixed16<12>>::file_code);
  CHECK(bbs::parse_value_type("fixed8:3,9").code() == bbs::value_traits<bbs::fixed8<3, 9>>::file_code);
  CHECK(bbs::parse_value_type("half").kind == Kind::float16);
  CHECK_FALSE(bbs::parse_value_type("bfloat16").is_fixed_point());
  CHECK(bbs::parse_value_type("fixed8<1,2>").is_fixed_point());

  // auto: the finest width that holds the largest weight; Fx stays as given.
  const bbs::ValueTypeSpec a16 = bbs::parse_value_type("fixed16<auto>");
  CHECK(a16.kind == Kind::fixed16);
  CHECK(a16.frac_bits == -1);
  CHECK_THROWS_WITH(a16.code(), Catch::Contains("the fraction width is auto"));
  CHECK(a16.resolved(3.0).code() == bbs::value_traits<bbs::fixed16<13>>::file_code);
  CHECK(bbs::parse_value_type("fixed8:auto,12").resolved(0.9).code() ==
        bbs::value_traits<bbs::fixed8<7, 12>>::file_code);
  CHECK(bbs::parse_value_type("fixed8<auto,12>").resolved(5.0).code() ==
        bbs::value_traits<bbs::fixed8<4, 12>>::file_code);
  CHECK(bbs::parse_value_type("fixed16<5>").resolved(1e6).frac_bits == 5);  // given widths stay
  CHECK_THROWS_AS(a16.resolved(1e6), bbs::value_error);                     // beyond F = 0's range

  const auto refused = [](const std::string& spelling, const std::string& why) {
    CAPTURE(spelling);
    CHECK_THROWS_AS(bbs::parse_value_type(spelling), bbs::config_error);
    CHECK_THROWS_WITH(bbs::parse_value_type(spelling),
                      Catch::Contains("value type \"" + spelling + "\"") && Catch::Contains(why));
  };
  const std::string expected = "expected float32, float64, bfloat16, float16, fixed16<F> or fixed8<Fw,Fx>";
  for (const std::string s : {"", "int4", "float32<1>", "fixed16", "fixed8<7>", "fixed8<7,auto>", "Float32"}) {
    refused(s, expected);
  }
  refused("fixed16<16>", "fraction width '16' is not auto or 0..15");
  refused("fixed16<-1>", "fraction width '-1' is not auto or 0..15");
  refused("fixed8<8,12>", "fraction width '8' is not auto or 0..7");
  refused("fixed8<7,16>", "fraction width '16' is not auto or 0..15");
  refused("fixed8<7,1,2>", "fraction width '1,2' is not auto or 0..15");
  refused("fixed16<007>", "fraction width '007' is not auto or 0..15");
}
