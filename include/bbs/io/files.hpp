// File plumbing shared by the file formats (io/csb_file.hpp, io/npy.hpp): atomic writes that
// leave either the old file or the whole new one, and bounded whole-file reads with clear errors.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bbs/core/error.hpp"

#if defined(__unix__)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace bbs {
namespace detail {

inline std::string errno_text(int err) {
  return err != 0 ? std::system_category().message(err) : std::string("unspecified I/O error");
}

/// A file written under a temporary name next to its destination and renamed onto it only once
/// complete and on disk, so the destination holds either the old file or the whole new one.
/// Until commit() succeeds, destruction or any failure removes the temporary file.
class AtomicFile {
 public:
  /// `who` names the caller in error messages ("bbs::save").
  AtomicFile(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)) {
    static std::atomic<unsigned long> counter{0};
#if defined(__unix__)
    const long pid = static_cast<long>(::getpid());
#else
    const long pid = 0;
#endif
    // "x": never reuse a name that exists (another writer's temporary file, or a stale one).
    for (int attempt = 0;; ++attempt) {
      temp_ = concat(path_, ".tmp.", pid, ".", counter.fetch_add(1));
      file_ = std::fopen(temp_.c_str(), "wbx");
      if (file_ != nullptr) {
        created_ = true;
        break;
      }
      const int err = errno;
      if (err != EEXIST || attempt == 99) fail(concat("creating the temporary file ", temp_), err);
    }
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() { discard(); }

  void write(const void* p, std::size_t n) {
    if (std::fwrite(p, 1, n, file_) != n) fail_with_errno("writing ");
  }

  void commit() {
    if (std::fflush(file_) != 0) fail_with_errno("flushing ");
#if defined(__unix__)
    if (::fsync(::fileno(file_)) != 0) fail_with_errno("fsync of ");
#endif
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) fail_with_errno("closing ");
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail_with_errno("renaming ", " onto it");
    created_ = false;
    sync_directory();
  }

 private:
  // errno is read before anything else can overwrite it.
  [[noreturn]] void fail_with_errno(const char* step, const char* after = "") {
    const int err = errno;
    fail(concat(step, temp_, after), err);
  }

  [[noreturn]] void fail(const std::string& what, int err) {
    discard();
    throw_error<file_error>(who_, ": ", path_, ": ", what, " failed: ", errno_text(err));
  }

  void discard() noexcept {
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
    // Only a file this object created is removed: after a failed fopen, temp_ may name another's.
    if (created_) {
      std::remove(temp_.c_str());
      created_ = false;
    }
  }

  // Makes the rename itself durable; best effort, since some file systems refuse fsync on directories.
  void sync_directory() const noexcept {
#if defined(__unix__)
    try {
      std::string dir = std::filesystem::path(path_).parent_path().string();
      if (dir.empty()) dir = ".";
      const int fd = ::open(dir.c_str(), O_RDONLY);
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
    } catch (...) {
      // The file is complete under its final name; only the rename's durability is at stake.
    }
#endif
  }

  std::string path_;
  std::string who_;
  std::string temp_;
  std::FILE* file_ = nullptr;
  bool created_ = false;
};

/// A little-endian unsigned integer from unaligned bytes (the files bbs reads are little-endian).
template <typename U>
U read_le(const unsigned char* p) {
  U v;
  std::memcpy(&v, p, sizeof v);  // memcpy keeps unaligned reads defined; the host is little-endian (core/config.hpp)
  return v;
}

/// Reads at most `limit` bytes from the start of a regular file.
inline std::vector<unsigned char> read_file(const std::string& path, std::uint64_t limit, const std::string& source) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) throw_error<file_error>(source, ": cannot open the file: ", ec.message());
  if (!std::filesystem::is_regular_file(status)) {
    throw_error<file_error>(source, ": cannot read it: not a regular file");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw_error<file_error>(source, ": cannot read its size: ", ec.message());
  if (size > std::numeric_limits<std::size_t>::max()) {
    throw_error<file_error>(source, ": the file is ", size, " bytes, more than this host can address");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw_error<file_error>(source, ": cannot open the file: ", errno_text(errno));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  const auto wanted = static_cast<std::size_t>(std::min<std::uintmax_t>(size, limit));
  std::vector<unsigned char> bytes(wanted);
  const std::size_t got = wanted == 0 ? 0 : std::fread(bytes.data(), 1, wanted, f);
  if (got != wanted) {
    const int err = std::ferror(f) != 0 ? errno : 0;
    throw_error<file_error>(source, ": read ", got, " of ", wanted,
                            " bytes: ", err != 0 ? errno_text(err) : std::string("the file shrank while being read"));
  }
  if (wanted == size && std::fgetc(f) != EOF) {
    throw_error<file_error>(source, ": the file grew while being read (", size, " bytes expected)");
  }
  return bytes;
}

}  // namespace detail
}  // namespace bbs
