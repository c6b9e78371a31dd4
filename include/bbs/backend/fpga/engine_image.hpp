// The LSTM engine's host side (backends/fpga/rtl/bbs_lstm_engine.sv): its kernel signature, the
// shape of one engine build, and the engine image: an LSTM cell's three BBS matrices, biases,
// write-back destinations and activation tables packed into the words the engine's load mode
// reads, plus where every output and cell lands in the engine's slot order.
//
// Slots. The engine finishes R rows at once and hands them on in slots of E = min(R, 16) lanes.
// A slot's lanes write their results into the PEs' input memories in one cycle, so the E rows of
// a slot must feed E different PEs (a PE owns the banks b with b % 16 == its index). The packer
// orders cells (and projection rows) into slots so that this holds, longest PE queues first, and
// pads with empty lanes where it cannot; rows of the gates of cell j go to the engine of j's
// lane, one local row per gate (i, f, g, o), so the element-wise unit gets a slot of whole cells
// every 4 rows.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bbs/backend/fpga/pack.hpp"
#include "bbs/backend/fpga/runtime.hpp"
#include "bbs/core/fixed_activation.hpp"

namespace bbs {
namespace fpga_runtime {

/// bbs_lstm_engine(mode, p_a, p_x, p_y, p_state, frames, flags, alpha_q, beta_q).
inline KernelSignature engine_kernel_signature() {
  return {"bbs_lstm_engine",
          {{"mode", ArgKind::int32},
           {"p_a", ArgKind::buffer},
           {"p_x", ArgKind::buffer},
           {"p_y", ArgKind::buffer},
           {"p_state", ArgKind::buffer},
           {"frames", ArgKind::int32},
           {"flags", ArgKind::int32},
           {"alpha_q", ArgKind::int32},
           {"beta_q", ArgKind::int32}}};
}

/// The engine's modes (argument `mode`) and run flags.
enum EngineMode : std::int32_t { engine_load = 1, engine_run = 2, engine_spmv = 3 };
enum EngineFlags : std::int32_t { engine_load_state = 1, engine_store_state = 2 };

/// What the engine reports in its status register after a run; 0 is success.
inline const char* engine_status_text(std::uint32_t status) {
  switch (status) {
    case 0:
      return "ok";
    case 1:
      return "unknown mode";
    case 2:
      return "not an engine image (bad magic or version)";
    case 3:
      return "the image was packed for another engine build (row engines, lanes or fraction bits)";
    case 4:
      return "the image does not fit the engine's memories";
    case 5:
      return "the matrix is not a fixed16 matrix this engine can hold (header, fraction bits or size)";
    case 6:
      return "no engine image is loaded, or not the one this run names (another cell or an SpMV replaced it)";
    default:
      return "unknown status";
  }
}

/// The sizes one engine build was synthesized with: the RTL parameters of bbs_lstm_engine.
struct EngineShape {
  int row_engines = 4;       // R: 1, 2, 4, 8 or a multiple of 16
  int frac_bits = 12;        // F of every fixed16 value
  index words = 256;         // WD: CSB words per row engine
  index x_depth = 64;        // DX: x entries per PE
  index h_depth = 64;        // DH: h entries per PE
  index m_depth = 64;        // DM: m entries per PE
  index slots = 256;         // KD: destination and bias slots
  index staging_words = 64;  // SD: output words (32 values) per step
  index c_words = 64;        // CD: c words (32 values)

  /// E: lanes of a slot.
  int lanes() const { return row_engines < 16 ? row_engines : 16; }
  /// R / E: slots per row.
  int slots_per_row() const { return row_engines / lanes(); }
  /// Multipliers of the SpMV unit: 16 PEs per row engine.
  int multipliers() const { return 16 * row_engines; }
};

namespace impl {
constexpr std::uint32_t engine_image_magic = 0x4C534242u;  // "BBSL"
constexpr std::uint32_t region_x = 0u << 14;
constexpr std::uint32_t region_h = 1u << 14;
constexpr std::uint32_t region_m = 2u << 14;
constexpr index max_region_offset = index(1) << 14;
}  // namespace impl

/// Where an element of a vector sits in the engine's slot order: slot `slot`, lane `lane`; its
/// int16 index in an output frame (or the c block of the state buffer) is slot * E + lane.
struct SlotPlace {
  index slot = 0;
  int lane = 0;
};

/// An LSTM cell packed for one engine build.
struct EngineImage {
  std::vector<fpga_hw::wide_word> words;
  /// Names this image on the engine (header field 24; a run passes it as alpha_q): unique in the process.
  std::uint32_t tag = 0;
  EngineShape shape;
  index input_size = 0;
  index hidden_size = 0;
  index output_size = 0;  // projection size, or hidden size without a projection
  bool projection = false;
  std::vector<SlotPlace> output_place;  // y_t[j]
  std::vector<SlotPlace> cell_place;    // c[j]
  // Per frame, in 64-byte words: x_t in, y_t out; in the state buffer: h_0, then c.
  index x_words = 0;
  index y_words = 0;
  index h_words = 0;
  index c_words = 0;
  // The numbers the cycle formula takes (docs/FPGA_REPORT.md).
  index gate_rows = 0;        // local rows per engine for the gates (4 per block of cells)
  index gate_words = 0;       // words per gate row (W_ih's and W_hh's)
  index gate_period = 0;      // cycles between gate rows: max(words, R / E)
  index projection_rows = 0;  // local rows per engine for the projection
  index projection_words = 0;
  index projection_period = 0;
  /// Multiply-accumulates per step the matrices hold (padding excluded) and the dense count.
  std::uint64_t macs = 0;
  std::uint64_t dense_macs = 0;
};

namespace impl {

/// Orders items (each with the PE its result feeds) into slots of `lanes` lanes with distinct PEs,
/// the number of slots rounded up to a multiple of `slots_per_row`. Returns, per slot and lane,
/// the item or -1.
inline std::vector<index> schedule_slots(const std::vector<int>& pe_of, int lanes, int slots_per_row) {
  std::vector<std::vector<index>> queue(16);
  for (index j = static_cast<index>(pe_of.size()) - 1; j >= 0; --j)
    queue[static_cast<std::size_t>(pe_of[j])].push_back(j);
  std::vector<index> slots;
  std::vector<int> order(16);
  for (;;) {
    for (int p = 0; p < 16; ++p) order[static_cast<std::size_t>(p)] = p;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return queue[static_cast<std::size_t>(a)].size() > queue[static_cast<std::size_t>(b)].size();
    });
    if (queue[static_cast<std::size_t>(order[0])].empty()) break;
    for (int l = 0; l < lanes; ++l) {
      auto& q = queue[static_cast<std::size_t>(order[static_cast<std::size_t>(l)])];
      if (q.empty()) {
        slots.push_back(-1);
      } else {
        slots.push_back(q.back());
        q.pop_back();
      }
    }
  }
  const index per_row = static_cast<index>(lanes) * slots_per_row;
  while (static_cast<index>(slots.size()) % per_row != 0) slots.push_back(-1);
  return slots;
}

/// PE and offset of element j of a vector that feeds a matrix with bank size bs.
inline std::uint32_t pe_of_element(index j, index bs) { return static_cast<std::uint32_t>((j / bs) % 16); }
inline std::uint32_t offset_of_element(index j, index bs) {
  return static_cast<std::uint32_t>((j / bs) / 16 * bs + j % bs);
}

/// A matrix packed in the device layout with its addresses moved into `region`; throws
/// device_error when its x entries per PE exceed `depth`.
template <int F>
PackedMatrix pack_into_region(const CsbView<fixed16<F>>& a, std::uint32_t region, index depth, const char* what) {
  const PackedMatrix p =
      pack_matrix(a, KernelLimits{fpga_hw::value_fixed16, 16, static_cast<int>(max_region_offset), "bbs_lstm_engine"});
  const index need = static_cast<index>(fpga_hw::header_get(p.words[0], fpga_hw::field_x_depth));
  if (need > depth) {
    detail::throw_error<device_error>("fpga engine: ", what, " needs ", need,
                                      " input entries per PE, the engine build holds ", depth);
  }
  PackedMatrix moved = p;
  for (std::size_t w = 1; w < moved.words.size(); ++w) {
    for (int lane = 0; lane < 16; ++lane) {
      const std::uint32_t a16 = fpga_hw::get_field(moved.words[w], fpga_hw::address_lsb(lane), 16);
      if (a16 != fpga_hw::padding_address) {
        fpga_hw::set_field(moved.words[w], fpga_hw::address_lsb(lane), 16, a16 | region);
      }
    }
  }
  return moved;
}

inline index words_per_row(const PackedMatrix& p) {
  return static_cast<index>(fpga_hw::header_get(p.words[0], fpga_hw::field_words_per_row));
}

/// The padding word: every lane padding, value 0.
inline fpga_hw::wide_word padding_word() {
  fpga_hw::wide_word w{};
  for (int lane = 0; lane < 16; ++lane) {
    fpga_hw::set_field(w, fpga_hw::address_lsb(lane), 16, fpga_hw::padding_address);
  }
  return w;
}

inline index words_for(index values) { return (values + 31) / 32; }

/// A nonzero tag no other image of this process has.
inline std::uint32_t next_image_tag() {
  static std::atomic<std::uint32_t> counter{0};
  std::uint32_t t = 0;
  while (t == 0) t = ++counter * 2654435761u;
  return t;
}

}  // namespace impl

/// Packs an LSTM cell for `shape`: weight_ih (4H x I), weight_hh (4H x P), bias (4H, raw
/// fixed16), weight_hr (P x H) or null. Throws device_error naming the first thing that does not
/// fit the engine build.
template <int F>
EngineImage pack_engine_image(const CsbView<fixed16<F>>& w_ih, const CsbView<fixed16<F>>& w_hh,
                              const std::vector<std::int16_t>& bias, const CsbView<fixed16<F>>* w_hr,
                              const EngineShape& shape) {
  using namespace impl;
  const int R = shape.row_engines;
  const int E = shape.lanes();
  const int S = shape.slots_per_row();
  if (R < 1 || (R < 16 && (R & (R - 1)) != 0) || (R > 16 && R % 16 != 0)) {
    detail::throw_error<device_error>("fpga engine: ", R, " row engines, expected 1, 2, 4, 8 or a multiple of 16");
  }
  if (F != shape.frac_bits) {
    detail::throw_error<device_error>("fpga engine: the cell is fixed16<", F,
                                      ">, the engine build computes in fixed16<", shape.frac_bits, ">");
  }
  const index h = w_ih.rows / 4;
  const bool proj = w_hr != nullptr;
  const index p = proj ? w_hr->rows : h;
  if (w_ih.rows != 4 * h || h == 0 || w_hh.rows != 4 * h || w_hh.cols != p ||
      static_cast<index>(bias.size()) != 4 * h || (proj && w_hr->cols != h)) {
    detail::throw_error<shape_error>(
        "fpga engine: an LSTM cell needs weight_ih 4H x I, weight_hh 4H x P, bias 4H and "
        "weight_hr P x H; got ",
        w_ih.rows, " x ", w_ih.cols, ", ", w_hh.rows, " x ", w_hh.cols, ", ", bias.size(), proj ? ", " : "",
        proj ? std::to_string(w_hr->rows) + " x " + std::to_string(w_hr->cols) : "");
  }
  const PackedMatrix pih = pack_into_region(w_ih, region_x, shape.x_depth, "weight_ih");
  const PackedMatrix phh = pack_into_region(w_hh, region_h, shape.h_depth, "weight_hh");
  PackedMatrix phr;
  if (proj) phr = pack_into_region(*w_hr, region_m, shape.m_depth, "weight_hr");
  const index wx = words_per_row(pih);
  const index wh = words_per_row(phh);
  const index wp = proj ? words_per_row(phr) : 0;

  // Cells: where each h (or m) element goes; projection rows: where each r element goes.
  const index cell_bs = proj ? w_hr->bank_size() : w_hh.bank_size();
  std::vector<int> cell_pe(static_cast<std::size_t>(h));
  for (index j = 0; j < h; ++j) cell_pe[static_cast<std::size_t>(j)] = static_cast<int>(pe_of_element(j, cell_bs));
  const std::vector<index> cells = schedule_slots(cell_pe, E, S);
  std::vector<index> prows;
  if (proj) {
    std::vector<int> row_pe(static_cast<std::size_t>(p));
    for (index j = 0; j < p; ++j)
      row_pe[static_cast<std::size_t>(j)] = static_cast<int>(pe_of_element(j, w_hh.bank_size()));
    prows = schedule_slots(row_pe, E, S);
  }
  const index kc = static_cast<index>(cells.size()) / E;  // cell slots
  const index kp = static_cast<index>(prows.size()) / E;  // projection slots
  const index lg = 4 * (kc / S);
  const index lp = kp / S;
  const index wn = lg * (wx + wh) + lp * wp;

  EngineImage img;
  img.shape = shape;
  img.tag = next_image_tag();
  img.input_size = w_ih.cols;
  img.hidden_size = h;
  img.output_size = p;
  img.projection = proj;
  img.x_words = words_for(w_ih.cols);
  img.y_words = words_for((proj ? kp : kc) * E);
  img.h_words = words_for(p);
  img.c_words = words_for(kc * E);
  img.gate_rows = lg;
  img.gate_words = wx + wh;
  img.gate_period = std::max<index>({wx + wh, S, 2});  // the engine reads a slot's held gates a cycle early
  img.projection_rows = lp;
  img.projection_words = wp;
  img.projection_period = std::max<index>({wp, S, 1});
  img.macs = static_cast<std::uint64_t>(w_ih.nonzeros() + w_hh.nonzeros() + (proj ? w_hr->nonzeros() : 0));
  img.dense_macs = static_cast<std::uint64_t>(4 * h * (w_ih.cols + p) + (proj ? p * h : 0));

  auto fail_if = [&](bool bad, const char* what, index need, index have) {
    if (bad) {
      detail::throw_error<device_error>("fpga engine: the cell needs ", need, " ", what, ", the engine build holds ",
                                        have);
    }
  };
  fail_if(wn > shape.words, "words per row engine", wn, shape.words);
  fail_if(kc + kp > shape.slots, "destination slots", kc + kp, shape.slots);
  fail_if(lg * S > shape.slots, "bias slots", lg * S, shape.slots);
  fail_if(img.y_words > shape.staging_words, "output words per step", img.y_words, shape.staging_words);
  fail_if(img.c_words > shape.c_words, "c words", img.c_words, shape.c_words);

  // Header: two words of 16 uint32 fields each.
  const std::uint32_t fields[] = {
      engine_image_magic,
      1,
      static_cast<std::uint32_t>(R),
      static_cast<std::uint32_t>(E),
      static_cast<std::uint32_t>(F),
      static_cast<std::uint32_t>(lg),
      static_cast<std::uint32_t>(wx),
      static_cast<std::uint32_t>(wh),
      static_cast<std::uint32_t>(lp),
      static_cast<std::uint32_t>(wp),
      static_cast<std::uint32_t>(w_ih.bank_size()),
      static_cast<std::uint32_t>(w_hh.bank_size()),
      static_cast<std::uint32_t>(kc),
      static_cast<std::uint32_t>(kp),
      proj ? 1u : 0u,
      static_cast<std::uint32_t>(w_ih.cols),
      static_cast<std::uint32_t>(p),
      static_cast<std::uint32_t>(img.gate_period),
      static_cast<std::uint32_t>(img.projection_period),
      static_cast<std::uint32_t>(wn),
      static_cast<std::uint32_t>(img.x_words),
      static_cast<std::uint32_t>(img.y_words),
      static_cast<std::uint32_t>(img.h_words),
      static_cast<std::uint32_t>(img.c_words),
      img.tag,
      static_cast<std::uint32_t>(lg * (wx + wh)),  // the projection's first word
      static_cast<std::uint32_t>(wn * R + kc + kp + lg * S + 2 * detail::ActivationTable::entries),
      static_cast<std::uint32_t>(lg * S)};
  fpga_hw::wide_word hdr[2] = {};
  for (std::size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
    fpga_hw::set_field(hdr[i / 16], 32 * static_cast<int>(i % 16), 32, fields[i]);
  }
  img.words.push_back(hdr[0]);
  img.words.push_back(hdr[1]);

  // Engine word memories: gate rows (block b, gate q) then projection rows.
  const fpga_hw::wide_word pad = padding_word();
  std::vector<std::vector<fpga_hw::wide_word>> engine(static_cast<std::size_t>(R));
  auto row_words = [&](const PackedMatrix& m, index row, index wpr, std::vector<fpga_hw::wide_word>& out) {
    for (index w = 0; w < wpr; ++w) out.push_back(row < 0 ? pad : m.words[static_cast<std::size_t>(1 + row * wpr + w)]);
  };
  for (index b = 0; b < kc / S; ++b) {
    for (int q = 0; q < 4; ++q) {
      for (int e = 0; e < R; ++e) {
        const index j = cells[static_cast<std::size_t>((b * S) * E + e)];
        auto& out = engine[static_cast<std::size_t>(e)];
        row_words(pih, j < 0 ? -1 : q * h + j, wx, out);
        row_words(phh, j < 0 ? -1 : q * h + j, wh, out);
      }
    }
  }
  for (index l = 0; l < lp; ++l) {
    for (int e = 0; e < R; ++e) {
      row_words(phr, prows[static_cast<std::size_t>(l * R + e)], wp, engine[static_cast<std::size_t>(e)]);
    }
  }
  for (index w = 0; w < wn; ++w) {
    for (int e = 0; e < R; ++e) img.words.push_back(engine[static_cast<std::size_t>(e)][static_cast<std::size_t>(w)]);
  }

  // Destinations: cell slots, then projection slots.
  auto dest_word = [&](const std::vector<index>& items, index slot, index bs) {
    fpga_hw::wide_word d{};
    for (int i = 0; i < E; ++i) {
      const index j = items[static_cast<std::size_t>(slot * E + i)];
      if (j < 0) continue;
      const std::uint32_t v = 0x80000000u | (pe_of_element(j, bs) << 16) | offset_of_element(j, bs);
      fpga_hw::set_field(d, 32 * i, 32, v);
    }
    return d;
  };
  img.output_place.assign(static_cast<std::size_t>(p), SlotPlace{});
  img.cell_place.assign(static_cast<std::size_t>(h), SlotPlace{});
  for (index k = 0; k < kc; ++k) {
    img.words.push_back(dest_word(cells, k, cell_bs));
    for (int i = 0; i < E; ++i) {
      const index j = cells[static_cast<std::size_t>(k * E + i)];
      if (j < 0) continue;
      img.cell_place[static_cast<std::size_t>(j)] = SlotPlace{k, i};
      if (!proj) img.output_place[static_cast<std::size_t>(j)] = SlotPlace{k, i};
    }
  }
  for (index k = 0; k < kp; ++k) {
    img.words.push_back(dest_word(prows, k, w_hh.bank_size()));
    for (int i = 0; i < E; ++i) {
      const index j = prows[static_cast<std::size_t>(k * E + i)];
      if (j >= 0) img.output_place[static_cast<std::size_t>(j)] = SlotPlace{k, i};
    }
  }
  // Biases of every gate row slot: local row l = 4 b + q, slot s.
  for (index l = 0; l < lg; ++l) {
    const index b = l / 4;
    const int q = static_cast<int>(l % 4);
    for (int s = 0; s < S; ++s) {
      fpga_hw::wide_word w{};
      for (int i = 0; i < E; ++i) {
        const index j = cells[static_cast<std::size_t>((b * S + s) * E + i)];
        if (j >= 0) {
          fpga_hw::set_field(w, 16 * i, 16, static_cast<std::uint16_t>(bias[static_cast<std::size_t>(q * h + j)]));
        }
      }
      img.words.push_back(w);
    }
  }
  // Activation tables: 1025 sigmoid entries, then 1025 tanh entries: Q20 value, step to the next.
  for (const detail::ActivationTable* t : {&detail::sigmoid_table(), &detail::tanh_table()}) {
    for (int i = 0; i < detail::ActivationTable::entries; ++i) {
      fpga_hw::wide_word w{};
      const std::int64_t lo = t->q20[static_cast<std::size_t>(i)];
      const std::int64_t hi = i + 1 < detail::ActivationTable::entries ? t->q20[static_cast<std::size_t>(i + 1)] : lo;
      fpga_hw::set_field(w, 0, 21, static_cast<std::uint32_t>(lo));
      fpga_hw::set_field(w, 32, 16, static_cast<std::uint32_t>(hi - lo));
      img.words.push_back(w);
    }
  }
  if (img.words.size() != 2 + fields[26]) {
    detail::throw_error<device_error>("fpga engine: internal error: the image holds ", img.words.size() - 2,
                                      " words after its header, the header says ", fields[26]);
  }
  return img;
}

}  // namespace fpga_runtime
}  // namespace bbs
