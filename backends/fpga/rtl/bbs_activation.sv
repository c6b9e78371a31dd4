// One sigmoid (TANH = 0) or tanh (TANH = 1) unit on raw fixed16<F> values (Q(15-F).F, F = 0..15),
// bit for bit the rule of include/bbs/core/fixed_activation.hpp: the table of f(i / 64),
// i = 0..1024, in Q20, linear interpolation between two entries rounded half up to Q20, the
// symmetry for negative inputs (sigmoid: 1 - y, tanh: -y), one rounding half up to Q(F), one
// saturation to int16. Past |x| >= 16 the value is entry 1024.
//
// Fully pipelined, one input per cycle, no stalls: the valid bit travels with the data. No
// reset: LATENCY cycles with in_valid low flush the valid bits (loading the table takes 1025).
// Latency LATENCY = 5 cycles from in_x to out_y:
//   1  |x|, table address, remainder of x below one table step (1/64), whether |x| >= 16
//   2  table read (block RAM, synchronous): {delta, lo} of the segment
//   3  delta * remainder (the one multiplier); lo, or entry 1024 when |x| >= 16
//   4  y = lo + the product rounded half up to Q20
//   5  symmetry, rounding to Q(F), saturation
//
// The table: 1024 words {t[a+1] - t[a] (16 bits), t[a] (21 bits)} in one memory, so one read
// gives both ends of a segment, plus a register for t[1024]. The host writes it once before use
// through tbl_* (tbl_delta is ignored at address 1024; addresses above 1024 are ignored).
module bbs_activation #(
    parameter int F = 12,
    parameter bit TANH = 0
) (
    input  logic               clk,
    input  logic               in_valid,
    input  logic signed [15:0] in_x,
    output logic               out_valid,
    output logic signed [15:0] out_y,
    // Table write port.
    input  logic               tbl_we,
    input  logic        [10:0] tbl_addr,
    input  logic        [20:0] tbl_lo,
    input  logic        [15:0] tbl_delta
);
  localparam int LATENCY /*verilator public*/ = 5;

  // |x| * 64 / 2^F is the table position: x has K bits below one table step when F > 6 (the
  // remainder that interpolation multiplies), none when F <= 6 (x falls on entries).
  localparam int K = (F > 6) ? F - 6 : 0;
  localparam int KW = (K > 0) ? K : 1;  // register width of the remainder (unused when K = 0)
  // Q20 -> Q(F): a shift by S = 20 - F >= 5, rounding half up adds 2^(S-1) first.
  localparam int S = 20 - F;
  localparam logic signed [23:0] HALF = 24'sd1 <<< (S - 1);
  // What a negative input's y is subtracted from: 1 - y for sigmoid, 0 - y for tanh.
  localparam logic signed [23:0] NEG_BASE = TANH ? HALF : (24'sd1 <<< 20) + HALF;

  // The valid bit of each stage.
  logic [LATENCY-1:0] valid;
  always_ff @(posedge clk) valid <= {valid[LATENCY-2:0], in_valid};
  assign out_valid = valid[LATENCY-1];

  // The table.
  logic [36:0] mem[1024];  // {delta, lo}
  logic [20:0] t_end;  // t[1024]
  logic [36:0] rd2;  // the read word, stage 2

  // Stage 1.
  logic neg1, sat1;
  logic [9:0] addr1;
  logic [KW-1:0] rem1;
  logic [15:0] u0;  // |x| in 0..32768
  logic sat0;  // |x| >= 16, i.e. |x| * 64 / 2^F >= 1024
  assign u0 = in_x[15] ? 16'(-in_x) : 16'(in_x);
  assign sat0 = {16'd0, u0} >= (32'd1 << (F + 4));
  always_ff @(posedge clk) begin
    neg1 <= in_x[15];
    sat1 <= sat0;
    addr1 <= 10'(({16'd0, u0} << 6) >> F);
  end
  if (K > 0) begin : g_rem1
    // The remainder is zeroed past |x| >= 16 so that stage 4 adds nothing to t[1024].
    always_ff @(posedge clk) rem1 <= sat0 ? '0 : u0[KW-1:0];
  end else begin : g_no_rem1
    assign rem1 = '0;
  end

  // Stage 2: the table read.
  logic neg2, sat2;
  logic [KW-1:0] rem2;
  always_ff @(posedge clk) begin
    if (tbl_we && !tbl_addr[10]) mem[tbl_addr[9:0]] <= {tbl_delta, tbl_lo};
    rd2 <= mem[addr1];
  end
  always_ff @(posedge clk) begin
    if (tbl_we && tbl_addr == 11'd1024) t_end <= tbl_lo;
  end
  always_ff @(posedge clk) begin
    neg2 <= neg1;
    sat2 <= sat1;
    rem2 <= rem1;
  end

  // Stage 3: the product delta * remainder (Q(20 + K), the C++'s step shifted right by 6).
  logic neg3;
  logic [20:0] lo3;
  logic [15+KW:0] prod3;
  always_ff @(posedge clk) begin
    neg3 <= neg2;
    lo3 <= sat2 ? t_end : rd2[20:0];
  end
  if (K > 0) begin : g_prod3
    always_ff @(posedge clk) prod3 <= (16 + KW)'(rd2[36:21]) * (16 + KW)'(rem2);
  end else begin : g_no_prod3
    // No remainder: the delta half of the word is never used.
    logic unused_delta;
    assign unused_delta = ^{rd2[36:21], rem2};
    assign prod3 = '0;
  end

  // Stage 4: y = lo + round_half_up(product / 2^K) in Q20 (22 bits: at most 2^20 for a valid table).
  logic neg4;
  logic [21:0] y4;
  if (K > 0) begin : g_y4
    always_ff @(posedge clk) y4 <= 22'(lo3) + 22'(prod3[15+KW:K]) + 22'(prod3[KW-1]);
  end else begin : g_y4_lo
    logic unused_prod;
    assign unused_prod = ^prod3;
    always_ff @(posedge clk) y4 <= 22'(lo3);
  end
  always_ff @(posedge clk) begin
    neg4 <= neg3;
  end

  // Stage 5: sigmoid(-x) = 1 - y, tanh(-x) = -y; floor((v + 2^(S-1)) / 2^S) is the C++'s
  // floor_shift(v, S) + bit S-1 of v; then saturation (only 2^15 at F = 15 can exceed int16):
  // the value fits int16 when its bits 23..15 are all equal.
  logic signed [23:0] w5;
  logic signed [23:0] r5;
  assign w5 = neg4 ? NEG_BASE - $signed({2'b0, y4}) : HALF + $signed({2'b0, y4});
  assign r5 = w5 >>> S;
  always_ff @(posedge clk) begin
    if (&r5[23:15] || ~|r5[23:15]) out_y <= r5[15:0];
    else out_y <= r5[23] ? -16'sh8000 : 16'sh7fff;
  end
endmodule
