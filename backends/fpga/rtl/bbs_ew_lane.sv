// The LSTM cell's element-wise update for one cell per cycle on raw fixed16<F> values, bit for bit
// LstmCell::run (include/bbs/nn/lstm.hpp) with elementwise<fixed16<F>> (nn/elementwise.hpp):
//   si = sigmoid(i), sf = sigmoid(f), tg = tanh(g), so = sigmoid(o)      (bbs_activation)
//   c' = from_product(sf * c + si * tg)      one rounding half up, one saturation
//   h  = from_product(so * tanh(c'))
// from_product(p) = saturate(floor(p / 2^F + 1/2)) (saturate(p) at F = 0).
//
// Fully pipelined, one cell per cycle, no stalls: the valid bit and in_tag (untouched) travel
// with the data; no reset (LATENCY idle cycles flush the valid bits). Latency LATENCY = 15
// cycles from the inputs to out_h, out_c, out_tag:
//   1-5    the four activations (bbs_activation, 5 cycles); c delayed alongside
//   6      sf * c and si * tg (two multipliers)
//   7      their sum
//   8      c' = saturate((sum + 2^(F-1)) >>> F)
//   9-13   tanh(c'); so and c' delayed alongside
//   14     so * tanh(c') (one multiplier)
//   15     h = saturate((product + 2^(F-1)) >>> F)
// The sums fit 32 bits: sigmoid outputs lie in [0, 32767] and every other operand in int16, so
// each product is below 2^30 in magnitude and the sum of two below 2^31.
//
// tbl_* writes one entry of the sigmoid table (tbl_tanh = 0) or the tanh table (tbl_tanh = 1)
// into every bbs_activation of that kind (see bbs_activation.sv for the entry format).
module bbs_ew_lane #(
    parameter int F = 12,
    parameter int TAG_BITS = 16
) (
    input  logic                      clk,
    input  logic                      in_valid,
    input  logic signed        [15:0] in_i,
    input  logic signed        [15:0] in_f,
    input  logic signed        [15:0] in_g,
    input  logic signed        [15:0] in_o,
    input  logic signed        [15:0] in_c,
    input  logic        [TAG_BITS-1:0] in_tag,
    output logic                      out_valid,
    output logic signed        [15:0] out_h,
    output logic signed        [15:0] out_c,
    output logic        [TAG_BITS-1:0] out_tag,
    // Table write port.
    input  logic                      tbl_we,
    input  logic                      tbl_tanh,
    input  logic               [10:0] tbl_addr,
    input  logic               [20:0] tbl_lo,
    input  logic               [15:0] tbl_delta
);
  // bbs_activation's LATENCY (checked by the testbench, which measures both).
  localparam int LA = 5;
  localparam int LATENCY /*verilator public*/ = 2 * LA + 5;
  // Rounding half up adds 2^(F-1) before the shift by F; nothing at F = 0.
  localparam logic signed [31:0] HALF = (F > 0) ? 32'sd1 <<< ((F > 0) ? F - 1 : 0) : 32'sd0;

  logic sig_we, tanh_we;
  assign sig_we  = tbl_we && !tbl_tanh;
  assign tanh_we = tbl_we && tbl_tanh;

  // Valid bits and tags of every stage (flat shift registers, one entry per cycle).
  logic [LATENCY-1:0] valid;
  logic [TAG_BITS*LATENCY-1:0] tag_sr;
  always_ff @(posedge clk) begin
    valid <= {valid[LATENCY-2:0], in_valid};
    tag_sr[TAG_BITS-1:0] <= in_tag;
    for (int k = 1; k < LATENCY; k = k + 1) tag_sr[TAG_BITS*k+:TAG_BITS] <= tag_sr[TAG_BITS*(k-1)+:TAG_BITS];
  end
  assign out_valid = valid[LATENCY-1];
  assign out_tag = tag_sr[TAG_BITS*(LATENCY-1)+:TAG_BITS];

  // Cycles 1-5: the gates' activations; c waits alongside.
  logic signed [15:0] si, sf, tg, so;
  logic unused_act_valid_i, unused_act_valid_f, unused_act_valid_g, unused_act_valid_o, unused_act_valid_t;
  bbs_activation #(.F(F), .TANH(1'b0)) u_act_i (
      .clk, .in_valid, .in_x(in_i), .out_valid(unused_act_valid_i), .out_y(si),
      .tbl_we(sig_we), .tbl_addr, .tbl_lo, .tbl_delta);
  bbs_activation #(.F(F), .TANH(1'b0)) u_act_f (
      .clk, .in_valid, .in_x(in_f), .out_valid(unused_act_valid_f), .out_y(sf),
      .tbl_we(sig_we), .tbl_addr, .tbl_lo, .tbl_delta);
  bbs_activation #(.F(F), .TANH(1'b1)) u_act_g (
      .clk, .in_valid, .in_x(in_g), .out_valid(unused_act_valid_g), .out_y(tg),
      .tbl_we(tanh_we), .tbl_addr, .tbl_lo, .tbl_delta);
  bbs_activation #(.F(F), .TANH(1'b0)) u_act_o (
      .clk, .in_valid, .in_x(in_o), .out_valid(unused_act_valid_o), .out_y(so),
      .tbl_we(sig_we), .tbl_addr, .tbl_lo, .tbl_delta);

  logic [16*LA-1:0] c_sr;
  always_ff @(posedge clk) begin
    c_sr[15:0] <= in_c;
    for (int k = 1; k < LA; k = k + 1) c_sr[16*k+:16] <= c_sr[16*(k-1)+:16];
  end
  logic signed [15:0] c_old;
  assign c_old = c_sr[16*(LA-1)+:16];

  // Cycle 6: the two products (Q(2F)), nothing else, so that they fit a DSP's registers.
  logic signed [31:0] p_fc, p_ig;
  always_ff @(posedge clk) begin
    p_fc <= 32'(sf) * 32'(c_old);
    p_ig <= 32'(si) * 32'(tg);
  end

  // Cycle 7: the sum (exact in 32 bits, see the header).
  logic signed [31:0] c_sum;
  always_ff @(posedge clk) c_sum <= p_fc + p_ig;

  // Cycle 8: c' = saturate(floor((sum + 2^(F-1)) / 2^F)); it fits int16 when bits 31..15 of
  // the shifted sum are all equal.
  logic signed [31:0] c_shifted;
  logic signed [15:0] c_new;
  assign c_shifted = (c_sum + HALF) >>> F;
  always_ff @(posedge clk) begin
    if (&c_shifted[31:15] || ~|c_shifted[31:15]) c_new <= c_shifted[15:0];
    else c_new <= c_shifted[31] ? -16'sh8000 : 16'sh7fff;
  end

  // Cycles 9-13: tanh(c'); so and c' wait alongside (so from cycle 5 to 13, c' from 8 to 15).
  logic signed [15:0] tc;
  bbs_activation #(.F(F), .TANH(1'b1)) u_act_c (
      .clk, .in_valid(valid[LA+2]), .in_x(c_new), .out_valid(unused_act_valid_t), .out_y(tc),
      .tbl_we(tanh_we), .tbl_addr, .tbl_lo, .tbl_delta);

  localparam int SO_DELAY = LA + 3;
  localparam int C_DELAY = LA + 2;
  logic [16*SO_DELAY-1:0] so_sr;
  logic [16*C_DELAY-1:0] cn_sr;
  always_ff @(posedge clk) begin
    so_sr[15:0] <= so;
    for (int k = 1; k < SO_DELAY; k = k + 1) so_sr[16*k+:16] <= so_sr[16*(k-1)+:16];
    cn_sr[15:0] <= c_new;
    for (int k = 1; k < C_DELAY; k = k + 1) cn_sr[16*k+:16] <= cn_sr[16*(k-1)+:16];
  end
  logic signed [15:0] so_late;
  assign so_late = so_sr[16*(SO_DELAY-1)+:16];
  assign out_c = cn_sr[16*(C_DELAY-1)+:16];

  // Cycle 14: so * tanh(c').
  logic signed [31:0] p_h;
  always_ff @(posedge clk) p_h <= 32'(so_late) * 32'(tc);

  // Cycle 15: h = saturate(floor((product + 2^(F-1)) / 2^F)) (as cycle 8; with sigmoid in
  // [0, 32767] it never saturates, the rule does it anyway).
  logic signed [31:0] h_shifted;
  assign h_shifted = (p_h + HALF) >>> F;
  always_ff @(posedge clk) begin
    if (&h_shifted[31:15] || ~|h_shifted[31:15]) out_h <= h_shifted[15:0];
    else out_h <= h_shifted[31] ? -16'sh8000 : 16'sh7fff;
  end
endmodule
