// bbs_row_engine: one row engine of the SpMV unit, 16 PEs (one per bank of a bank group) fed one
// CSB word per cycle, an adder tree and the row accumulators.
//
// Every engine of the engine array receives the same word address each cycle and holds its own
// rows' words, so all engines finish their rows on the same cycle: the bank-balanced format gives
// every row the same number of words. A word is the 512-bit device word of
// backends/fpga/hw/device_layout.hpp: lane p has a 16-bit value in bits [16p, 16p+16) and a
// 16-bit address in bits [256+16p, 256+16p+16). The address names the PE's own input memory:
// bits [15:14] the region (0: x, the layer input; 1: h, the recurrent input; 2: m, the cell
// output the projection reads), bits [13:0] the offset; 0xFFFF is padding and contributes 0.
// x and h are double-buffered (the parity inputs pick the half read this phase) so the next
// frame's x and the next step's h can be written while this step reads the current ones.
//
// A row's words are split in two segments, accumulated separately (acc_a, acc_b): the gates'
// W_ih x and W_hh h, which the LSTM rounds separately. rd_segb marks segment-b words.
//
// Pipeline (one stage per memory read, DSP or two adder levels), issue at cycle 0:
//   1 weight-word read   2 input read   3 operand registers (DSP A/B)   4 product (DSP M)
//   5 tree 16 -> 4       6 tree 4 -> 1  7 accumulate; res_valid with the row's sums
// so LATENCY = 7 cycles from rd_valid with rd_last to res_valid.
module bbs_row_engine #(
    parameter int WD  = 256,  // words per engine
    parameter int DX  = 64,   // x entries per PE per buffer (power of two)
    parameter int DH  = 64,   // h entries per PE per buffer (power of two)
    parameter int DM  = 64,   // m entries per PE
    parameter int WAB = (WD > 1) ? $clog2(WD) : 1,
    parameter int XAB = $clog2(DX) + 1,
    parameter int HAB = $clog2(DH) + 1,
    parameter int MAB = (DM > 1) ? $clog2(DM) : 1
) (
    input logic clk,
    // The word stream (broadcast to every engine).
    input logic rd_valid,
    input logic [WAB-1:0] rd_addr,
    input logic rd_first,
    input logic rd_last,
    input logic rd_segb,
    input logic rd_null,  // a row without words: one word whose lanes all count as padding
    input logic xpar,
    input logic hpar,
    // Loading this engine's words.
    input logic ww_en,
    input logic [WAB-1:0] ww_addr,
    input logic [511:0] ww_data,
    // Writes into the PEs' input memories (broadcast to every engine), one port per PE and region.
    input logic [15:0] xw_we,
    input logic [16*XAB-1:0] xw_addr,
    input logic [255:0] xw_data,
    input logic [15:0] hw_we,
    input logic [16*HAB-1:0] hw_addr,
    input logic [255:0] hw_data,
    input logic [15:0] mw_we,
    input logic [16*MAB-1:0] mw_addr,
    input logic [255:0] mw_data,
    // The row's two sums, mod 2^32.
    output logic res_valid,
    output logic [31:0] res_a,
    output logic [31:0] res_b
);
  // The top sizes its pipeline waits from this (documented above).
  /* verilator lint_off UNUSEDPARAM */
  localparam int LATENCY = 7;
  /* verilator lint_on UNUSEDPARAM */
  localparam int XOB = XAB - 1;
  localparam int HOB = HAB - 1;

  // Flags travel with the word: valid, first, last, segment b (and null to stage 2).
  logic [3:0] f1, f2, f3, f4, f5, f6;
  logic null1;
  always_ff @(posedge clk) begin
    f1 <= {rd_valid, rd_first, rd_last, rd_segb};
    null1 <= rd_null;
    f2 <= f1;
    f3 <= f2;
    f4 <= f3;
    f5 <= f4;
    f6 <= f5;
  end

  // Stage 1: the weight word.
  logic [511:0] word;
  bbs_ram #(
      .W(512),
      .D(WD)
  ) u_words (
      .clk(clk),
      .we(ww_en),
      .waddr(ww_addr),
      .wdata(ww_data),
      .re(rd_valid),
      .raddr(rd_addr),
      .rdata(word)
  );

  logic [511:0] prod4;  // 16 products of 32 bits
  genvar p;
  generate
    for (p = 0; p < 16; p = p + 1) begin : g_pe
      wire [15:0] addr1 = word[256+16*p+:16];
      wire [1:0] region1 = addr1[15:14];
      wire pad1 = (addr1 == 16'hFFFF) || (region1 == 2'd3) || !f1[3] || null1;
      // Stage 2: the PE's input memories, all read at the offset; the region picks one.
      logic [15:0] xv, hv, mv;
      bbs_ram #(
          .W(16),
          .D(2 * DX)
      ) u_x (
          .clk(clk),
          .we(xw_we[p]),
          .waddr(xw_addr[p*XAB+:XAB]),
          .wdata(xw_data[16*p+:16]),
          .re(1'b1),
          .raddr({xpar, addr1[XOB-1:0]}),
          .rdata(xv)
      );
      bbs_ram #(
          .W(16),
          .D(2 * DH)
      ) u_h (
          .clk(clk),
          .we(hw_we[p]),
          .waddr(hw_addr[p*HAB+:HAB]),
          .wdata(hw_data[16*p+:16]),
          .re(1'b1),
          .raddr({hpar, addr1[HOB-1:0]}),
          .rdata(hv)
      );
      bbs_ram #(
          .W(16),
          .D(DM)
      ) u_m (
          .clk(clk),
          .we(mw_we[p]),
          .waddr(mw_addr[p*MAB+:MAB]),
          .wdata(mw_data[16*p+:16]),
          .re(1'b1),
          .raddr(addr1[MAB-1:0]),
          .rdata(mv)
      );
      logic [15:0] val2;
      logic [1:0] region2;
      logic pad2;
      always_ff @(posedge clk) begin
        val2 <= word[16*p+:16];
        region2 <= region1;
        pad2 <= pad1;
      end
      // Stage 3: operands (a padded lane multiplies 0 by 0).
      logic signed [15:0] a3, b3;
      always_ff @(posedge clk) begin
        a3 <= pad2 ? 16'sd0 : $signed(val2);
        b3 <= pad2 ? 16'sd0 : (region2 == 2'd0 ? $signed(xv) : (region2 == 2'd1 ? $signed(hv) : $signed(mv)));
      end
      // Stage 4: the product, exact in 32 bits.
      logic signed [31:0] m4;
      always_ff @(posedge clk) m4 <= a3 * b3;
      assign prod4[32*p+:32] = m4;
    end
  endgenerate

  // Stage 5: two adder levels, 16 -> 4; stage 6: 4 -> 1 (all mod 2^32).
  logic [127:0] quad5;
  genvar q;
  generate
    for (q = 0; q < 4; q = q + 1) begin : g_quad
      always_ff @(posedge clk)
        quad5[32*q+:32] <= (prod4[32*(4*q)+:32] + prod4[32*(4*q+1)+:32]) +
                           (prod4[32*(4*q+2)+:32] + prod4[32*(4*q+3)+:32]);
    end
  endgenerate
  logic [31:0] sum6;
  always_ff @(posedge clk) sum6 <= (quad5[31:0] + quad5[63:32]) + (quad5[95:64] + quad5[127:96]);

  // Stage 7: the row accumulators. A first word restarts both; the last word hands them out.
  logic [31:0] acc_a, acc_b;
  wire v6 = f6[3], first6 = f6[2], last6 = f6[1], segb6 = f6[0];
  wire [31:0] next_a = (first6 ? 32'd0 : acc_a) + (segb6 ? 32'd0 : sum6);
  wire [31:0] next_b = (first6 ? 32'd0 : acc_b) + (segb6 ? sum6 : 32'd0);
  always_ff @(posedge clk) begin
    res_valid <= v6 && last6;
    if (v6) begin
      acc_a <= next_a;
      acc_b <= next_b;
      if (last6) begin
        res_a <= next_a;
        res_b <= next_b;
      end
    end
  end
endmodule
