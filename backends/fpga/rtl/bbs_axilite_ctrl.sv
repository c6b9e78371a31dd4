// The AXI4-Lite control slave of a Vitis RTL kernel with the ap_ctrl_hs protocol: the register
// map an HLS-generated s_axi_control has, so XRT drives the kernel like an HLS one (xrt::kernel,
// xrt::run). It holds the control bits, the interrupt registers and NUM_ARGS 32-bit argument
// registers; the core sees ap_start and the arguments and answers with ap_done / ap_idle /
// ap_ready. A 64-bit pointer argument takes two consecutive registers, low word first.
//
//   offset         register   bits
//   0x00           control    0 ap_start (R/W, cleared by ap_ready), 1 ap_done (RO, clear on read),
//                             2 ap_idle (RO, the core's level), 3 ap_ready (RO, clear on read),
//                             7 auto_restart (R/W: ap_start goes back up after ap_ready)
//   0x04           GIE        0 global interrupt enable
//   0x08           IER        0 ap_done interrupt enable, 1 ap_ready interrupt enable
//   0x0C           ISR        0 ap_done, 1 ap_ready: set by the event when enabled in IER,
//                             toggled by writing 1 (the host writes 1 to clear)
//   0x10 + 4 i     arg i      32-bit R/W, i = 0 .. NUM_ARGS - 1, WSTRB byte enables honoured
//   after the args status j   32-bit RO, j = 0 .. NUM_RO - 1: the core's `ro` input (counters,
//                             status), read live; writes ignored
//   anything else             reads 0, writes ignored, both answer OKAY
//
// Handshake: the host writes the arguments, then 1 to ap_start. The core starts when it sees
// ap_start, pulses ap_ready (one cycle) when it has taken the arguments, which drops ap_start,
// and pulses ap_done (one cycle) when it has finished; the host polls 0x00 for ap_done or waits
// for the interrupt. interrupt = GIE & |(ISR & IER).
//
// AXI side: AW and W are taken in either order or together (each is held until the write is
// done), the write lands the cycle after both are in and BVALID rises with it; one read at a
// time, RDATA sampled when AR is taken. BRESP and RRESP are always OKAY. Synchronous active-low
// reset clears every register. ADDR_BITS must cover 0x10 + 4 NUM_ARGS.
module bbs_axilite_ctrl #(
    parameter int NUM_ARGS  = 16,
    parameter int NUM_RO    = 1,
    parameter int ADDR_BITS = 8
) (
    input  logic                      ap_clk,
    input  logic                      ap_rst_n,
    // AXI4-Lite slave
    input  logic                      s_axi_control_AWVALID,
    output logic                      s_axi_control_AWREADY,
    /* verilator lint_off UNUSEDSIGNAL */  // address bits [1:0]: registers are word-wide
    input  logic [ADDR_BITS-1:0]      s_axi_control_AWADDR,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                      s_axi_control_WVALID,
    output logic                      s_axi_control_WREADY,
    input  logic [31:0]               s_axi_control_WDATA,
    input  logic [3:0]                s_axi_control_WSTRB,
    output logic                      s_axi_control_BVALID,
    input  logic                      s_axi_control_BREADY,
    output logic [1:0]                s_axi_control_BRESP,
    input  logic                      s_axi_control_ARVALID,
    output logic                      s_axi_control_ARREADY,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [ADDR_BITS-1:0]      s_axi_control_ARADDR,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                      s_axi_control_RVALID,
    input  logic                      s_axi_control_RREADY,
    output logic [31:0]               s_axi_control_RDATA,
    output logic [1:0]                s_axi_control_RRESP,
    /* verilator lint_off SYMRSVDWORD */  // the name Vitis expects
    output logic                      interrupt,
    /* verilator lint_on SYMRSVDWORD */
    // core side
    output logic                      ap_start,
    input  logic                      ap_done,
    input  logic                      ap_idle,
    input  logic                      ap_ready,
    output logic [32*NUM_ARGS-1:0]    args,
    input  logic [32*NUM_RO-1:0]      ro
);
  // Registers are addressed by word: the low two address bits are ignored.
  localparam int WordBits = ADDR_BITS - 2;
  localparam logic [WordBits-1:0] WordCtrl = WordBits'(0);
  localparam logic [WordBits-1:0] WordGie = WordBits'(1);
  localparam logic [WordBits-1:0] WordIer = WordBits'(2);
  localparam logic [WordBits-1:0] WordIsr = WordBits'(3);
  localparam int WordArg0 = 4;
  localparam logic [WordBits:0] WordEnd = (WordBits + 1)'(WordArg0 + NUM_ARGS + NUM_RO);  // one past the last

  if (WordArg0 + NUM_ARGS + NUM_RO > (1 << WordBits)) begin : g_addr_bits_too_small
    $error("bbs_axilite_ctrl: ADDR_BITS too small for NUM_ARGS");
  end

  // ---- write channel: AW and W captured separately, the write happens once both are in ----
  logic                aw_full, w_full, bvalid;
  logic [WordBits-1:0] waddr;
  logic [31:0]         wdata;
  logic [3:0]          wstrb;
  logic                aw_hs, w_hs, wr_en;

  assign s_axi_control_AWREADY = ~aw_full & ~bvalid;
  assign s_axi_control_WREADY  = ~w_full & ~bvalid;
  assign s_axi_control_BVALID  = bvalid;
  assign s_axi_control_BRESP   = 2'b00;
  assign aw_hs = s_axi_control_AWVALID & s_axi_control_AWREADY;
  assign w_hs  = s_axi_control_WVALID & s_axi_control_WREADY;
  assign wr_en = aw_full & w_full;  // both in: the registers take wdata this cycle

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      aw_full <= 1'b0;
      w_full  <= 1'b0;
      bvalid  <= 1'b0;
      waddr   <= '0;
      wdata   <= '0;
      wstrb   <= '0;
    end else begin
      if (aw_hs) begin
        aw_full <= 1'b1;
        waddr   <= s_axi_control_AWADDR[ADDR_BITS-1:2];
      end
      if (w_hs) begin
        w_full <= 1'b1;
        wdata  <= s_axi_control_WDATA;
        wstrb  <= s_axi_control_WSTRB;
      end
      if (wr_en) begin
        aw_full <= 1'b0;
        w_full  <= 1'b0;
        bvalid  <= 1'b1;
      end else if (bvalid && s_axi_control_BREADY) begin
        bvalid <= 1'b0;
      end
    end
  end

  // ---- read channel: RDATA sampled when AR is taken, held until RREADY ----
  logic                rvalid;
  logic [31:0]         rdata, rdata_next;
  logic                ar_hs;
  logic [WordBits-1:0] raddr;

  assign s_axi_control_ARREADY = ~rvalid;
  assign s_axi_control_RVALID  = rvalid;
  assign s_axi_control_RDATA   = rdata;
  assign s_axi_control_RRESP   = 2'b00;
  assign ar_hs = s_axi_control_ARVALID & ~rvalid;
  assign raddr = s_axi_control_ARADDR[ADDR_BITS-1:2];

  // ---- control, interrupt and argument registers ----
  logic                  int_ap_start, int_ap_done, int_ap_ready, int_auto_restart;
  logic                  int_gie;
  logic [1:0]            int_ier, int_isr;
  logic [32*NUM_ARGS-1:0] int_args;
  logic                  wr_ctrl, wr_isr, rd_ctrl;

  assign wr_ctrl = wr_en && waddr == WordCtrl && wstrb[0];
  assign wr_isr  = wr_en && waddr == WordIsr && wstrb[0];
  assign rd_ctrl = ar_hs && raddr == WordCtrl;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      int_ap_start     <= 1'b0;
      int_ap_done      <= 1'b0;
      int_ap_ready     <= 1'b0;
      int_auto_restart <= 1'b0;
      int_gie          <= 1'b0;
      int_ier          <= 2'b00;
      int_isr          <= 2'b00;
    end else begin
      // ap_start: the host's 1 wins over the core's ap_ready in the same cycle.
      if (wr_ctrl && wdata[0]) int_ap_start <= 1'b1;
      else if (ap_ready) int_ap_start <= int_auto_restart;
      if (wr_ctrl) int_auto_restart <= wdata[7];
      // Clear on read; an event in the read's own cycle survives it (the read returns the old bit).
      if (ap_done) int_ap_done <= 1'b1;
      else if (rd_ctrl) int_ap_done <= 1'b0;
      if (ap_ready) int_ap_ready <= 1'b1;
      else if (rd_ctrl) int_ap_ready <= 1'b0;
      if (wr_en && waddr == WordGie && wstrb[0]) int_gie <= wdata[0];
      if (wr_en && waddr == WordIer && wstrb[0]) int_ier <= wdata[1:0];
      // ISR: an enabled event sets its bit, else a written 1 toggles it.
      if (int_ier[0] && ap_done) int_isr[0] <= 1'b1;
      else if (wr_isr) int_isr[0] <= int_isr[0] ^ wdata[0];
      if (int_ier[1] && ap_ready) int_isr[1] <= 1'b1;
      else if (wr_isr) int_isr[1] <= int_isr[1] ^ wdata[1];
    end
  end

  for (genvar i = 0; i < NUM_ARGS; i = i + 1) begin : g_arg
    for (genvar b = 0; b < 4; b = b + 1) begin : g_byte
      always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) int_args[32*i+8*b+:8] <= 8'h00;
        else if (wr_en && waddr == WordBits'(WordArg0 + i) && wstrb[b])
          int_args[32*i+8*b+:8] <= wdata[8*b+:8];
      end
    end
  end

  // Read mux: the argument word by a shift, the addresses past the last argument gated to 0.
  logic [WordBits-1:0]    rarg;       // argument index of the read address
  /* verilator lint_off UNUSEDSIGNAL */
  logic [32*(NUM_ARGS+NUM_RO)-1:0] rarg_word;  // that register in bits [31:0]; the rest unused
  /* verilator lint_on UNUSEDSIGNAL */
  assign rarg      = raddr - WordBits'(WordArg0);
  assign rarg_word = {ro, int_args} >> {rarg, 5'b00000};

  always_comb begin
    rdata_next = 32'h0;
    if (raddr == WordCtrl)
      rdata_next = {24'h0, int_auto_restart, 3'b000, int_ap_ready, ap_idle, int_ap_done, int_ap_start};
    else if (raddr == WordGie) rdata_next = {31'h0, int_gie};
    else if (raddr == WordIer) rdata_next = {30'h0, int_ier};
    else if (raddr == WordIsr) rdata_next = {30'h0, int_isr};
    else if ({1'b0, raddr} < WordEnd) rdata_next = rarg_word[31:0];
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      rvalid <= 1'b0;
      rdata  <= 32'h0;
    end else if (ar_hs) begin
      rvalid <= 1'b1;
      rdata  <= rdata_next;
    end else if (s_axi_control_RREADY) begin
      rvalid <= 1'b0;
    end
  end

  assign ap_start  = int_ap_start;
  assign args      = int_args;
  assign interrupt = int_gie & |(int_isr & int_ier);
endmodule
