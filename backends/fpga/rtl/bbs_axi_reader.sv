// bbs_axi_reader: reads `beats` consecutive 512-bit words from host memory at byte address
// `base` over an AXI4 master read channel and hands them out as a valid / ready stream.
// Bursts are INCR, 64 bytes per beat, at most 64 beats, and never cross a 4 KiB boundary (the
// AXI rule); address requests run ahead of the data, and the stream's ready is RREADY, so a
// slow consumer stalls the bus rather than losing data. base must be 64-byte aligned.
/* verilator lint_off UNUSEDSIGNAL */  // base[5:0] (aligned) and rlast (implied by the counts)
module bbs_axi_reader (
    input logic clk,
    input logic rst,
    input logic start,
    input logic [63:0] base,
    input logic [31:0] beats,
    output logic busy,
    // AXI4 read address and data channels.
    output logic m_arvalid,
    input logic m_arready,
    output logic [63:0] m_araddr,
    output logic [7:0] m_arlen,
    input logic m_rvalid,
    output logic m_rready,
    input logic [511:0] m_rdata,
    input logic m_rlast,
    // The stream of words.
    output logic out_valid,
    input logic out_ready,
    output logic [511:0] out_data
);
  logic [57:0] next_beat;  // address of the next request, in beats
  logic [31:0] to_request, to_receive;
  wire [6:0] room = 7'd64 - {1'b0, next_beat[5:0]};  // beats to the next 4 KiB boundary
  // The next burst's length, registered: a request goes out the cycle after its address settles,
  // so no compare sits between the address adder and the next address.
  logic [31:0] burst;
  always_ff @(posedge clk) burst <= (to_request < {25'd0, room}) ? to_request : {25'd0, room};

  assign busy = (to_receive != 0);
  assign m_araddr = {next_beat, 6'd0};
  assign m_arlen = burst[7:0] - 8'd1;
  assign m_rready = out_ready && busy;
  assign out_valid = m_rvalid && busy;
  assign out_data = m_rdata;

  always_ff @(posedge clk) begin
    if (rst) begin
      to_request <= 0;
      to_receive <= 0;
      m_arvalid <= 1'b0;
      next_beat <= 0;
    end else if (start) begin
      next_beat <= base[63:6];
      to_request <= beats;
      to_receive <= beats;
      m_arvalid <= 1'b0;
    end else begin
      if (m_arvalid && m_arready) begin
        m_arvalid <= 1'b0;
        next_beat <= next_beat + {26'd0, burst};
        to_request <= to_request - burst;
      end else if (!m_arvalid && to_request != 0) begin
        m_arvalid <= 1'b1;
      end
      if (m_rvalid && m_rready) to_receive <= to_receive - 1;
    end
  end

endmodule
/* verilator lint_on UNUSEDSIGNAL */
