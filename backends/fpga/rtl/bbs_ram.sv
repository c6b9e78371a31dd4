// bbs_ram: simple dual-port memory, one write port and one synchronous read port (data the cycle
// after the address), the shape every on-chip memory of the engine has. The write port has one
// enable per lane of W / LANES bits, so a wide word can be written a lane group at a time.
// Yosys maps it to RAMB36E2 / RAMB18E2 or LUT RAM by size; Verilator simulates it as an array.
// Reading and writing one address in the same cycle returns the old data.
module bbs_ram #(
    parameter int W = 32,
    parameter int D = 64,
    parameter int LANES = 1,
    parameter int AB = (D > 1) ? $clog2(D) : 1
) (
    input  logic             clk,
    input  logic [LANES-1:0] we,
    input  logic [   AB-1:0] waddr,
    input  logic [    W-1:0] wdata,
    input  logic             re,
    input  logic [   AB-1:0] raddr,
    output logic [    W-1:0] rdata
);
  localparam int LW = W / LANES;
  logic [W-1:0] mem[D];

  genvar g;
  generate
    for (g = 0; g < LANES; g = g + 1) begin : g_lane
      always_ff @(posedge clk) begin
        if (we[g]) mem[waddr][g*LW+:LW] <= wdata[g*LW+:LW];
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (re) rdata <= mem[raddr];
  end
endmodule
