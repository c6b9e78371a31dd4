// bbs_axi_writer: writes `beats` consecutive 512-bit words from a valid / ready stream to host
// memory at byte address `base` over an AXI4 master write channel. Bursts follow the reader's
// rule (INCR, at most 64 beats, never across 4 KiB); each word carries 64 byte strobes, so the
// last word of a buffer can stop at its end. busy stays high until every burst's response is in.
/* verilator lint_off UNUSEDSIGNAL */  // base[5:0] (aligned), high bits of burst counts (at most 64)
module bbs_axi_writer (
    input logic clk,
    input logic rst,
    input logic start,
    input logic [63:0] base,
    input logic [31:0] beats,
    output logic busy,
    // AXI4 write address, data and response channels.
    output logic m_awvalid,
    input logic m_awready,
    output logic [63:0] m_awaddr,
    output logic [7:0] m_awlen,
    output logic m_wvalid,
    input logic m_wready,
    output logic [511:0] m_wdata,
    output logic [63:0] m_wstrb,
    output logic m_wlast,
    input logic m_bvalid,
    output logic m_bready,
    // The stream of words.
    input logic in_valid,
    output logic in_ready,
    input logic [511:0] in_data,
    input logic [63:0] in_strb
);
  logic [57:0] aw_beat, w_beat;  // next address request / next data word, in beats
  logic [31:0] aw_left, w_left;
  logic [31:0] bursts_out;  // address requests sent whose response has not come back
  logic [7:0] w_in_burst;  // data words left in the current burst

  function automatic logic [31:0] burst_of(input logic [57:0] at, input logic [31:0] left);
    logic [6:0] room;
    room = 7'd64 - {1'b0, at[5:0]};
    burst_of = (left < {25'd0, room}) ? left : {25'd0, room};
  endfunction

  // The next address burst's length, registered (an address request goes out the cycle after its
  // address settles); the data side computes its own.
  logic [31:0] aw_burst;
  always_ff @(posedge clk) aw_burst <= burst_of(aw_beat, aw_left);
  wire [31:0] w_burst = burst_of(w_beat, w_left);

  assign busy = (aw_left != 0) || (w_left != 0) || (bursts_out != 0) || m_awvalid;
  assign m_awaddr = {aw_beat, 6'd0};
  assign m_awlen = aw_burst[7:0] - 8'd1;
  assign m_wvalid = in_valid && (w_left != 0);
  assign in_ready = m_wready && (w_left != 0);
  assign m_wdata = in_data;
  assign m_wstrb = in_strb;
  wire [7:0] cur_left = (w_in_burst != 0) ? w_in_burst : w_burst[7:0];
  assign m_wlast = (cur_left == 8'd1);
  assign m_bready = 1'b1;

  always_ff @(posedge clk) begin
    if (rst) begin
      aw_left <= 0;
      w_left <= 0;
      bursts_out <= 0;
      m_awvalid <= 1'b0;
      w_in_burst <= 0;
      aw_beat <= 0;
      w_beat <= 0;
    end else if (start) begin
      aw_beat <= base[63:6];
      w_beat <= base[63:6];
      aw_left <= beats;
      w_left <= beats;
      w_in_burst <= 0;
      m_awvalid <= 1'b0;
    end else begin
      if (m_awvalid && m_awready) begin
        m_awvalid <= 1'b0;
        aw_beat <= aw_beat + {26'd0, aw_burst};
        aw_left <= aw_left - aw_burst;
      end else if (!m_awvalid && aw_left != 0) begin
        m_awvalid <= 1'b1;
      end
      if (m_wvalid && m_wready) begin
        w_left <= w_left - 1;
        w_beat <= w_beat + 1;
        w_in_burst <= cur_left - 8'd1;
      end
      bursts_out <= bursts_out + ((m_awvalid && m_awready) ? 32'd1 : 32'd0) - (m_bvalid ? 32'd1 : 32'd0);
    end
  end
endmodule
/* verilator lint_on UNUSEDSIGNAL */
