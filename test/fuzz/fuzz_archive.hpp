// The fuzz targets' way past the CRC-32 of a ZIP archive (.npz files, bbs model files): an input
// read as a "bundle" of named entries, from which the target builds a valid archive. Almost every
// mutation of a raw archive breaks an entry's CRC, which is checked before the entry is parsed;
// mutating a bundle reaches the .npy headers, the manifest and the packed matrices instead.
//
// A bundle is its entries separated by bundle_separator; each entry is its name, a newline and its
// bytes (no newline: the whole entry is the name and the bytes are empty). make_fuzz_seeds
// --bundle writes an archive's entries in this form.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bbs/bbs.hpp>

namespace bbs_fuzz {

inline const std::string bundle_separator = "\n--entry--\n";

/// The entries of a bundle, in order: (name, bytes).
inline std::vector<std::pair<std::string, std::string>> bundle_entries(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t end = std::min(text.find(bundle_separator, at), text.size());
    const std::string entry = text.substr(at, end - at);
    const std::size_t newline = entry.find('\n');
    if (newline == std::string::npos) {
      out.emplace_back(entry, std::string());
    } else {
      out.emplace_back(entry.substr(0, newline), entry.substr(newline + 1));
    }
    if (end == text.size()) return out;
    at = end + bundle_separator.size();
  }
}

/// The bytes of a bundle, the inverse of bundle_entries.
inline std::string bundle_bytes(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i != 0) out += bundle_separator;
    out += entries[i].first + "\n" + entries[i].second;
  }
  return out;
}

/// A stored ZIP archive of a bundle's entries, CRCs right. Entries the writer refuses (an empty
/// or repeated name) are left out: the archive format, not the parser, forbids them.
inline std::vector<unsigned char> archive_of_bundle(const std::uint8_t* data, std::size_t size) {
  bbs::detail::zip::Writer zip("fuzz bundle");
  for (const auto& e : bundle_entries(data, size)) {
    try {
      zip.add(e.first, e.second);
    } catch (const bbs::config_error&) {
    }
  }
  return zip.finish();
}

}  // namespace bbs_fuzz
