// bbs_lstm_engine: the on-chip BBS LSTM engine, a Vitis RTL kernel (ap_ctrl_hs over AXI4-Lite,
// one 512-bit AXI4 master). backends/fpga/README.md describes it; this header is the summary.
//
// Datapath
//   SpMV unit     R row engines (bbs_row_engine) of 16 PEs each; every engine gets the same word
//                 address each cycle, so the R engines finish R rows together. Weights stay in
//                 the engines' word memories between kernel runs.
//   drain         the R row sums of a finished row leave in slots of E = min(R, 16) lanes, one
//                 slot per cycle (R / E cycles per row; rows are issued at least that far apart).
//   gate combine  pre = sat(sat(bias + rq(sum_x)) + rq(sum_h)): the CPU layer's two kernel calls
//                 with beta = 1 (rq: drop F fraction bits, round half up).
//   element-wise  E bbs_ew_lane: sigmoid / tanh, c = f c + i g, h = o tanh(c).
//   output unit   E lanes of y = sat(round((sum * alpha + y * beta * 2^F) / 2^(F+16))): the SpMV
//                 kernel's alpha / beta rule, and the projection's requantize (alpha 1, beta 0).
//   write-back    each lane carries a destination (PE, offset) chosen by the host so that the E
//                 lanes of a slot hit E different PEs: one write per PE memory per cycle, copied
//                 into all R engines. Outputs also go to a double-buffered staging memory that is
//                 written to the host while the next step computes.
//
// Modes (argument `mode`)
//   1 load     reads an engine image (include/bbs/backend/fpga/engine_image.hpp packs it): two
//              header words, the engines' words, write-back destinations, biases, activation tables.
//   2 run      runs `frames` LSTM steps of the loaded image, whose tag `alpha_q` must carry (a run
//              meant for another image, or after an SpMV replaced the weights, is refused): x_t
//              read from p_x (frame t at t * x_beats words) while the previous step computes,
//              y_t written to p_y after it; h and c stay on chip.
//              flags bit 0 loads h_0 / c_0 from p_state first, bit 1 writes c back after.
//   3 spmv     y = alpha A x + beta y for a matrix in the FPGA backend's device layout
//              (backends/fpga/hw/device_layout.hpp): the bbs_spmv_fixed16 kernel's arguments.
//
// Arguments (32-bit registers from 0x10, see bbs_axilite_ctrl): 0 mode, 1-2 p_a (image or
// matrix), 3-4 p_x, 5-6 p_y, 7-8 p_state, 9 frames, 10 flags, 11 alpha_q, 12 beta_q.
// Read-only registers after them: 13 status (0 ok, else the first failed check), 14 cycles of
// the last LSTM step, 15 cycles of the last SpMV's compute phase, 16 cycles of the last load,
// 17 the control state (for diagnosing a run that does not finish).
// Counters and header fields are 32 bits wide; only their low bits index the sized memories.
/* verilator lint_off UNUSEDSIGNAL */
module bbs_lstm_engine #(
    parameter int R = 4,  // row engines: 1, 2, 4, 8, or a multiple of 16
    parameter int F = 12,  // fraction bits of every fixed16 value
    parameter int WD = 256,  // words per engine
    parameter int DX = 64,  // x entries per PE and buffer (power of two)
    parameter int DH = 64,  // h entries per PE and buffer (power of two)
    parameter int DM = 64,  // m entries per PE
    parameter int KD = 256,  // destination and bias entries
    parameter int SD = 64,  // staging words (32 values) per buffer
    parameter int CD = 64  // c words (32 values)
) (
    input logic ap_clk,
    input logic ap_rst_n,
    output logic interrupt,
    // AXI4-Lite control slave.
    input logic s_axi_control_AWVALID,
    output logic s_axi_control_AWREADY,
    input logic [7:0] s_axi_control_AWADDR,
    input logic s_axi_control_WVALID,
    output logic s_axi_control_WREADY,
    input logic [31:0] s_axi_control_WDATA,
    input logic [3:0] s_axi_control_WSTRB,
    output logic s_axi_control_BVALID,
    input logic s_axi_control_BREADY,
    output logic [1:0] s_axi_control_BRESP,
    input logic s_axi_control_ARVALID,
    output logic s_axi_control_ARREADY,
    input logic [7:0] s_axi_control_ARADDR,
    output logic s_axi_control_RVALID,
    input logic s_axi_control_RREADY,
    output logic [31:0] s_axi_control_RDATA,
    output logic [1:0] s_axi_control_RRESP,
    // AXI4 master (512-bit data).
    output logic m_axi_gmem_AWVALID,
    input logic m_axi_gmem_AWREADY,
    output logic [63:0] m_axi_gmem_AWADDR,
    output logic [7:0] m_axi_gmem_AWLEN,
    output logic m_axi_gmem_WVALID,
    input logic m_axi_gmem_WREADY,
    output logic [511:0] m_axi_gmem_WDATA,
    output logic [63:0] m_axi_gmem_WSTRB,
    output logic m_axi_gmem_WLAST,
    input logic m_axi_gmem_BVALID,
    output logic m_axi_gmem_BREADY,
    output logic m_axi_gmem_ARVALID,
    input logic m_axi_gmem_ARREADY,
    output logic [63:0] m_axi_gmem_ARADDR,
    output logic [7:0] m_axi_gmem_ARLEN,
    input logic m_axi_gmem_RVALID,
    output logic m_axi_gmem_RREADY,
    input logic [511:0] m_axi_gmem_RDATA,
    input logic m_axi_gmem_RLAST
);
  // ---------------------------------------------------------------- sizes
  localparam int E = (R < 16) ? R : 16;  // lanes of a drain slot
  localparam int S = R / E;  // slots per row
  localparam int PER = 32 / E;  // slots per 512-bit staging / c word
  localparam int SB = (S > 1) ? $clog2(S) : 1;
  localparam int PB = $clog2(PER);  // log2(PER), 1..5
  localparam int WAB = (WD > 1) ? $clog2(WD) : 1;
  localparam int XAB = $clog2(DX) + 1;
  localparam int HAB = $clog2(DH) + 1;
  localparam int MAB = (DM > 1) ? $clog2(DM) : 1;
  localparam int KAB = $clog2(KD);
  localparam int SAB = $clog2(SD) + 1;  // two staging buffers
  localparam int CAB = (CD > 1) ? $clog2(CD) : 1;
  localparam int NUM_ARGS = 13;
  localparam logic [31:0] IMAGE_MAGIC = 32'h4C534242;  // "BBSL"
  localparam logic [31:0] MATRIX_MAGIC = 32'h46534242;  // "BBSF"

  wire clk = ap_clk;
  logic rst;
  always_ff @(posedge clk) rst <= !ap_rst_n;

  // ---------------------------------------------------------------- control registers
  logic ap_start, ap_done, ap_idle, ap_ready;
  logic [32*NUM_ARGS-1:0] args;
  logic [31:0] status_q, cyc_step_q, cyc_spmv_q, cyc_load_q, dbg_state;
  bbs_axilite_ctrl #(
      .NUM_ARGS(NUM_ARGS),
      .NUM_RO(5),
      .ADDR_BITS(8)
  ) u_ctrl (
      .ap_clk(clk),
      .ap_rst_n(ap_rst_n),
      .s_axi_control_AWVALID(s_axi_control_AWVALID),
      .s_axi_control_AWREADY(s_axi_control_AWREADY),
      .s_axi_control_AWADDR(s_axi_control_AWADDR),
      .s_axi_control_WVALID(s_axi_control_WVALID),
      .s_axi_control_WREADY(s_axi_control_WREADY),
      .s_axi_control_WDATA(s_axi_control_WDATA),
      .s_axi_control_WSTRB(s_axi_control_WSTRB),
      .s_axi_control_BVALID(s_axi_control_BVALID),
      .s_axi_control_BREADY(s_axi_control_BREADY),
      .s_axi_control_BRESP(s_axi_control_BRESP),
      .s_axi_control_ARVALID(s_axi_control_ARVALID),
      .s_axi_control_ARREADY(s_axi_control_ARREADY),
      .s_axi_control_ARADDR(s_axi_control_ARADDR),
      .s_axi_control_RVALID(s_axi_control_RVALID),
      .s_axi_control_RREADY(s_axi_control_RREADY),
      .s_axi_control_RDATA(s_axi_control_RDATA),
      .s_axi_control_RRESP(s_axi_control_RRESP),
      .ap_start(ap_start),
      .ap_done(ap_done),
      .ap_idle(ap_idle),
      .ap_ready(ap_ready),
      .args(args),
      .ro({dbg_state, cyc_load_q, cyc_spmv_q, cyc_step_q, status_q}),
      .interrupt(interrupt)
  );

  // Arguments, latched at start.
  logic [31:0] a_mode, a_frames, a_flags, a_alpha, a_beta;
  logic [63:0] a_pa, a_px, a_py, a_ps;

  // ---------------------------------------------------------------- configuration (from headers)
  logic [31:0] c_lg, c_wx, c_wh, c_lp, c_wp, c_bsx, c_bsh, c_kc, c_kp, c_in, c_out;
  logic [31:0] c_perg, c_perp, c_wn, c_xb, c_yb, c_hb, c_cb;
  logic [31:0] c_pbase, c_bias;  // the projection's first word, the bias slots (lg * S)
  logic c_proj;
  // SpMV matrix: rows, local rows, words per row, issue period, x / y words.
  logic [31:0] m_rows, m_cols, m_ls, m_wpr, m_per, m_bs, m_xb, m_yb, m_words;

  // ---------------------------------------------------------------- AXI reader and writer
  logic rd_start, rd_busy, rd_ovalid, rd_oready;
  logic [63:0] rd_base;
  logic [31:0] rd_beats;
  logic [511:0] rd_odata;
  bbs_axi_reader u_rd (
      .clk(clk),
      .rst(rst),
      .start(rd_start),
      .base(rd_base),
      .beats(rd_beats),
      .busy(rd_busy),
      .m_arvalid(m_axi_gmem_ARVALID),
      .m_arready(m_axi_gmem_ARREADY),
      .m_araddr(m_axi_gmem_ARADDR),
      .m_arlen(m_axi_gmem_ARLEN),
      .m_rvalid(m_axi_gmem_RVALID),
      .m_rready(m_axi_gmem_RREADY),
      .m_rdata(m_axi_gmem_RDATA),
      .m_rlast(m_axi_gmem_RLAST),
      .out_valid(rd_ovalid),
      .out_ready(rd_oready),
      .out_data(rd_odata)
  );
  logic wr_start, wr_busy, wr_ivalid, wr_iready;
  logic [63:0] wr_base;
  logic [31:0] wr_beats;
  logic [511:0] wr_idata;
  logic [63:0] wr_istrb;
  bbs_axi_writer u_wr (
      .clk(clk),
      .rst(rst),
      .start(wr_start),
      .base(wr_base),
      .beats(wr_beats),
      .busy(wr_busy),
      .m_awvalid(m_axi_gmem_AWVALID),
      .m_awready(m_axi_gmem_AWREADY),
      .m_awaddr(m_axi_gmem_AWADDR),
      .m_awlen(m_axi_gmem_AWLEN),
      .m_wvalid(m_axi_gmem_WVALID),
      .m_wready(m_axi_gmem_WREADY),
      .m_wdata(m_axi_gmem_WDATA),
      .m_wstrb(m_axi_gmem_WSTRB),
      .m_wlast(m_axi_gmem_WLAST),
      .m_bvalid(m_axi_gmem_BVALID),
      .m_bready(m_axi_gmem_BREADY),
      .in_valid(wr_ivalid),
      .in_ready(wr_iready),
      .in_data(wr_idata),
      .in_strb(wr_istrb)
  );

  // What consumes the reader's words.
  typedef enum logic [2:0] {
    SINK_NONE,
    SINK_HEADER,
    SINK_IMAGE,
    SINK_MATRIX,
    SINK_SCATTER,
    SINK_STAGING,
    SINK_C
  } sink_t;
  sink_t sink;

  // ---------------------------------------------------------------- scatter: a vector into PE memories
  // Element c of a vector goes to bank b = c / bs, PE b % 16, offset (b / 16) * bs + c % bs: the
  // layout of the matrices' columns. One element per cycle; x and h_0 arrive this way.
  logic sc_start, sc_to_h, sc_par, sc_active;
  logic [31:0] sc_n, sc_left, sc_bs, sc_inbank, sc_grp;
  logic [3:0] sc_pe;
  logic [4:0] sc_idx;
  logic sc_have;
  logic [511:0] sc_word;
  wire sc_emit = sc_have && (sc_left != 0);
  wire sc_word_done = sc_emit && ((sc_idx == 5'd31) || (sc_left == 1));
  wire sc_take = (sink == SINK_SCATTER) && rd_ovalid && (!sc_have || sc_word_done);
  always_ff @(posedge clk) begin
    if (rst) begin
      sc_have <= 1'b0;
      sc_left <= 0;
      sc_active <= 1'b0;
    end else if (sc_start) begin
      sc_left <= sc_n;
      sc_have <= 1'b0;
      sc_idx <= 0;
      sc_inbank <= 0;
      sc_pe <= 0;
      sc_grp <= 0;
      sc_off <= 0;
      sc_active <= 1'b1;
    end else begin
      if (sc_emit) begin
        sc_left <= sc_left - 1;
        sc_idx <= sc_idx + 1;
        if (sc_inbank + 1 == sc_bs) begin
          sc_inbank <= 0;
          sc_pe <= sc_pe + 1;
          if (sc_pe == 4'd15) begin
            sc_grp <= sc_grp + sc_bs;
            sc_off <= sc_grp + sc_bs;
          end else begin
            sc_off <= sc_grp;
          end
        end else begin
          sc_inbank <= sc_inbank + 1;
          sc_off <= sc_off + 1;
        end
      end
      if (sc_take) begin
        sc_have <= 1'b1;
        sc_word <= rd_odata;
        sc_idx <= 0;
      end else if (sc_word_done) begin
        sc_have <= 1'b0;
      end
      if (sc_active && sc_left == 0 && !sc_emit) sc_active <= 1'b0;  // the last write is registered
    end
  end
  // The write the scatter makes, one cycle later from registers: the element, its PE and offset
  // (kept as a running register, sc_grp + sc_inbank, so no adder sits before the memories).
  logic scw_valid, scw_to_h, scw_par;
  logic [3:0] scw_pe;
  logic [31:0] scw_off, sc_off;
  logic [15:0] scw_value;
  always_ff @(posedge clk) begin
    scw_valid <= sc_emit && !rst;
    scw_pe <= sc_pe;
    scw_off <= sc_off;
    scw_value <= sc_word[{sc_idx, 4'd0}+:16];
    scw_to_h <= sc_to_h;
    scw_par <= sc_par;
  end

  // ---------------------------------------------------------------- the SpMV unit
  logic sq_valid, sq_first, sq_last, sq_segb, sq_null;
  logic [WAB-1:0] sq_addr;
  logic xpar, hpar;
  logic [R-1:0] ww_en;
  logic [WAB-1:0] ww_addr;
  logic [511:0] ww_data;
  logic [15:0] xw_we, hw_we, mw_we;
  logic [16*XAB-1:0] xw_addr;
  logic [16*HAB-1:0] hw_addr;
  logic [16*MAB-1:0] mw_addr;
  logic [255:0] xw_data, hw_data, mw_data;
  logic [R-1:0] res_valid;
  logic [32*R-1:0] res_a, res_b;
  genvar ge;
  generate
    for (ge = 0; ge < R; ge = ge + 1) begin : g_engine
      bbs_row_engine #(
          .WD(WD),
          .DX(DX),
          .DH(DH),
          .DM(DM)
      ) u_engine (
          .clk(clk),
          .rd_valid(sq_valid),
          .rd_addr(sq_addr),
          .rd_first(sq_first),
          .rd_last(sq_last),
          .rd_segb(sq_segb),
          .rd_null(sq_null),
          .xpar(xpar),
          .hpar(hpar),
          .ww_en(ww_en[ge]),
          .ww_addr(ww_addr),
          .ww_data(ww_data),
          .xw_we(xw_we),
          .xw_addr(xw_addr),
          .xw_data(xw_data),
          .hw_we(hw_we),
          .hw_addr(hw_addr),
          .hw_data(hw_data),
          .mw_we(mw_we),
          .mw_addr(mw_addr),
          .mw_data(mw_data),
          .res_valid(res_valid[ge]),
          .res_a(res_a[32*ge+:32]),
          .res_b(res_b[32*ge+:32])
      );
    end
  endgenerate

  // Sequencer: rows [0, sq_rows), words [0, sq_na + sq_nb) of each, one row every sq_per cycles.
  // A row without words (k = 0, or no columns) still issues one word, all padding, for its sums.
  logic sq_run, sq_start;
  logic [31:0] sq_rows, sq_na, sq_nb, sq_per, sq_base, sq_row, sq_w, sq_lbase;
  wire [31:0] sq_wpr = (sq_na + sq_nb == 0) ? 32'd1 : sq_na + sq_nb;
  assign sq_null = (sq_na + sq_nb == 0);
  always_ff @(posedge clk) begin
    if (rst) begin
      sq_run <= 1'b0;
    end else if (sq_start) begin
      sq_run <= (sq_rows != 0);
      sq_row <= 0;
      sq_w <= 0;
      sq_lbase <= sq_base;
    end else if (sq_run) begin
      if (sq_w + 1 == sq_per) begin
        sq_w <= 0;
        sq_lbase <= sq_lbase + sq_wpr;
        sq_row <= sq_row + 1;
        if (sq_row + 1 == sq_rows) sq_run <= 1'b0;
      end else begin
        sq_w <= sq_w + 1;
      end
    end
  end
  assign sq_valid = sq_run && (sq_w < sq_wpr);
  assign sq_addr = WAB'(sq_lbase + sq_w);
  assign sq_first = (sq_w == 0);
  assign sq_last = (sq_w + 1 == sq_wpr);
  assign sq_segb = (sq_w >= sq_na);

  // ---------------------------------------------------------------- drain: R sums -> slots of E lanes
  typedef enum logic [1:0] {
    PH_SPMV,
    PH_GATE,
    PH_PROJ
  } phase_t;
  phase_t phase;
  logic [32*R-1:0] dbuf_a, dbuf_b;
  logic dr_busy;
  logic [SB-1:0] dr_s;
  logic [31:0] dr_row;  // rows finished in this phase
  logic d_valid;
  logic [SB-1:0] d_s;
  logic [31:0] d_l;
  // Slot indices without multipliers: k = l * S + s and kc = (l / 4) * S + s, kept as running bases.
  logic [31:0] kb_cur, kb_next, kcb_cur, kcb_next, d_k, d_kc;
  logic [32*E-1:0] d_a, d_b;
  always_ff @(posedge clk) begin
    if (rst || sq_start) begin
      dr_busy <= 1'b0;
      dr_row <= 0;
      d_valid <= 1'b0;
      kb_next <= 0;
      kcb_next <= 0;
    end else begin
      d_valid <= dr_busy;
      if (dr_busy) begin
        d_s <= dr_s;
        d_l <= dr_row - 1;
        d_k <= kb_cur + 32'(dr_s);
        d_kc <= kcb_cur + 32'(dr_s);
        d_a <= dbuf_a[32*E*dr_s+:32*E];
        d_b <= dbuf_b[32*E*dr_s+:32*E];
        if (32'(dr_s) + 1 == S) dr_busy <= 1'b0;
        dr_s <= dr_s + 1;
      end
      if (res_valid[0]) begin
        dbuf_a <= res_a;
        dbuf_b <= res_b;
        dr_busy <= 1'b1;
        dr_s <= 0;
        dr_row <= dr_row + 1;
        kb_cur <= kb_next;
        kb_next <= kb_next + S;
        kcb_cur <= kcb_next;
        if (dr_row[1:0] == 2'd3) kcb_next <= kcb_next + S;
      end
    end
  end

  // ---------------------------------------------------------------- per-slot memories
  // Destinations: per slot, lane i in bits [32i, 32i+32): bit 31 valid, [19:16] PE, [13:0] offset.
  logic dest_we, bias_we;
  logic [KAB-1:0] dest_waddr, bias_waddr, dest_raddr, bias_raddr;
  logic [511:0] dest_wdata, bias_wdata;
  logic [32*E-1:0] dest_rdata;
  logic [16*E-1:0] bias_rdata;
  bbs_ram #(
      .W(32 * E),
      .D(KD)
  ) u_dest (
      .clk(clk),
      .we(dest_we),
      .waddr(dest_waddr),
      .wdata(dest_wdata[32*E-1:0]),
      .re(1'b1),
      .raddr(dest_raddr),
      .rdata(dest_rdata)
  );
  bbs_ram #(
      .W(16 * E),
      .D(KD)
  ) u_bias (
      .clk(clk),
      .we(bias_we),
      .waddr(bias_waddr),
      .wdata(bias_wdata[16*E-1:0]),
      .re(1'b1),
      .raddr(bias_raddr),
      .rdata(bias_rdata)
  );
  // Staging (two buffers of SD words) and c (CD words): 512-bit words of PER slots, written a
  // slot (E lanes) at a time or whole.
  logic [PER-1:0] stg_we, c_we;
  logic [SAB-1:0] stg_waddr, stg_raddr;
  logic [CAB-1:0] c_waddr, c_raddr;
  logic [511:0] stg_wdata, stg_rdata, c_wdata, c_rdata;
  bbs_ram #(
      .W(512),
      .D(2 * SD),
      .LANES(PER)
  ) u_staging (
      .clk(clk),
      .we(stg_we),
      .waddr(stg_waddr),
      .wdata(stg_wdata),
      .re(1'b1),
      .raddr(stg_raddr),
      .rdata(stg_rdata)
  );
  bbs_ram #(
      .W(512),
      .D(CD),
      .LANES(PER)
  ) u_c (
      .clk(clk),
      .we(c_we),
      .waddr(c_waddr),
      .wdata(c_wdata),
      .re(1'b1),
      .raddr(c_raddr),
      .rdata(c_rdata)
  );

  // ---------------------------------------------------------------- slot pipeline
  // P1: slot indices, memory reads issued. k_row = l * S + s; gates: block b = l / 4, gate q = l % 4,
  // cell slot kc = b * S + s.
  logic p1_v;
  logic [1:0] p1_q;
  logic [SB-1:0] p1_s;
  logic [31:0] p1_k, p1_kc;
  logic [32*E-1:0] p1_a, p1_b;
  logic stg_half;  // staging buffer of the step being computed
  always_ff @(posedge clk) begin
    p1_v <= d_valid;
    p1_q <= d_l[1:0];
    p1_s <= d_s;
    p1_k <= d_k;
    p1_kc <= d_kc;
    p1_a <= d_a;
    p1_b <= d_b;
  end
  // Read addresses for the slot pipeline (the writer and loaders use these memories at other times).
  wire [31:0] d_dest_k = (phase == PH_PROJ) ? c_kc + d_k : d_kc;
  wire [31:0] d_out_k = (phase == PH_GATE) ? d_kc : d_k;  // staging / c slot

  // P2: data. Gates: t = sat(bias + rq(a)), rb = rq(b). Output unit: products.
  logic p2_v;
  logic [1:0] p2_q;
  logic [SB-1:0] p2_s;
  logic [31:0] p2_k, p2_kc;
  logic [16*E-1:0] p2_t, p2_c;
  logic [32*E-1:0] p2_rb, p2_dest;
  logic [64*E-1:0] p2_ma, p2_mb;

  function automatic logic signed [31:0] rq(input logic [31:0] acc);
    // floor(acc / 2^F + 1/2) of a signed 32-bit sum (F = 0: the sum)
    logic signed [31:0] a;
    a = $signed(acc);
    // (the rounding bit is added as a signed value: an unsigned operand would make >>> logical)
    if (F == 0) rq = a;
    else rq = (a >>> F) + $signed({31'd0, a[(F==0)?0:F-1]});
  endfunction
  function automatic logic signed [15:0] sat16(input logic signed [33:0] v);
    if (v > 34'sd32767) sat16 = 16'sd32767;
    else if (v < -34'sd32768) sat16 = -16'sd32768;
    else sat16 = v[15:0];
  endfunction

  // The projection is requantize: alpha 1, beta 0 (the layer's kernel call); SpMV takes the arguments.
  wire [31:0] alpha_q = (phase == PH_PROJ) ? 32'h00010000 : a_alpha;
  wire [31:0] beta_q = (phase == PH_PROJ) ? 32'd0 : a_beta;
  genvar gl;
  generate
    for (gl = 0; gl < E; gl = gl + 1) begin : g_p2
      wire signed [31:0] a1 = $signed(p1_a[32*gl+:32]);
      wire signed [15:0] bias1 = $signed(bias_rdata[16*gl+:16]);
      wire signed [15:0] yold1 = $signed(stg_rdata[16*(32'(p1_k[PB-1:0])*E+gl)+:16]);
      always_ff @(posedge clk) begin
        p2_t[16*gl+:16] <= sat16(34'(bias1) + 34'(rq(p1_a[32*gl+:32])));
        p2_rb[32*gl+:32] <= rq(p1_b[32*gl+:32]);
        p2_ma[64*gl+:64] <= 64'(a1) * 64'($signed(alpha_q));
        p2_mb[64*gl+:64] <= 64'(yold1) * 64'($signed(beta_q));
      end
    end
  endgenerate
  always_ff @(posedge clk) begin
    p2_v <= p1_v;
    p2_q <= p1_q;
    p2_s <= p1_s;
    p2_k <= p1_k;
    p2_kc <= p1_kc;
    p2_dest <= dest_rdata;
    p2_c <= c_rdata[16*E*32'(p1_kc[PB-1:0])+:16*E];
  end

  // P3: gates: pre = sat(t + rb), held until the slot's o gate arrives; output unit: sum.
  logic p3_v;
  logic [1:0] p3_q;
  logic [SB-1:0] p3_s;
  logic [31:0] p3_k, p3_kc;
  logic [16*E-1:0] p3_pre, p3_c;
  logic [32*E-1:0] p3_dest;
  logic [64*E-1:0] p3_sum;
  logic [16*E*S-1:0] hold_i, hold_f, hold_g;
  // The slot's held i, f, g, selected a cycle early (from p2_s) into registers: the o gate's row
  // is at least P cycles after the others, so the held values are already in place at P2.
  logic [16*E-1:0] sel_i, sel_f, sel_g;
  always_ff @(posedge clk) begin
    sel_i <= hold_i[16*E*p2_s+:16*E];
    sel_f <= hold_f[16*E*p2_s+:16*E];
    sel_g <= hold_g[16*E*p2_s+:16*E];
  end
  generate
    for (gl = 0; gl < E; gl = gl + 1) begin : g_p3
      always_ff @(posedge clk) begin
        p3_pre[16*gl+:16] <= sat16(34'($signed(p2_t[16*gl+:16])) + 34'($signed(p2_rb[32*gl+:32])));
        p3_sum[64*gl+:64] <= p2_ma[64*gl+:64] + (p2_mb[64*gl+:64] << F);
      end
    end
  endgenerate
  always_ff @(posedge clk) begin
    p3_v <= p2_v;
    p3_q <= p2_q;
    p3_s <= p2_s;
    p3_k <= p2_k;
    p3_kc <= p2_kc;
    p3_c <= p2_c;
    p3_dest <= p2_dest;
    if (p3_v && phase == PH_GATE) begin
      if (p3_q == 2'd0) hold_i[16*E*p3_s+:16*E] <= p3_pre;
      if (p3_q == 2'd1) hold_f[16*E*p3_s+:16*E] <= p3_pre;
      if (p3_q == 2'd2) hold_g[16*E*p3_s+:16*E] <= p3_pre;
    end
  end

  // Element-wise lanes: a cell slot enters when its o gate is done (P3, q = 3).
  localparam int KCB = 16;
  localparam int TAGW = 32 + KCB;
  wire ew_in = p3_v && (phase == PH_GATE) && (p3_q == 2'd3);
  logic [E-1:0] ew_ov;
  logic [16*E-1:0] ew_h, ew_c;
  logic [TAGW*E-1:0] ew_tag;
  logic tbl_we, tbl_tanh;
  logic [10:0] tbl_addr;
  logic [20:0] tbl_lo;
  logic [15:0] tbl_delta;
  generate
    for (gl = 0; gl < E; gl = gl + 1) begin : g_ew
      bbs_ew_lane #(
          .F(F),
          .TAG_BITS(TAGW)
      ) u_lane (
          .clk(clk),
          .in_valid(ew_in),
          .in_i(sel_i[16*gl+:16]),
          .in_f(sel_f[16*gl+:16]),
          .in_g(sel_g[16*gl+:16]),
          .in_o(p3_pre[16*gl+:16]),
          .in_c(p3_c[16*gl+:16]),
          .in_tag({p3_dest[32*gl+:32], p3_kc[KCB-1:0]}),
          .out_valid(ew_ov[gl]),
          .out_h(ew_h[16*gl+:16]),
          .out_c(ew_c[16*gl+:16]),
          .out_tag(ew_tag[TAGW*gl+:TAGW]),
          .tbl_we(tbl_we),
          .tbl_tanh(tbl_tanh),
          .tbl_addr(tbl_addr),
          .tbl_lo(tbl_lo),
          .tbl_delta(tbl_delta)
      );
    end
  endgenerate

  // P4: output unit rounding: sat(floor(sum / 2^(F+16) + 1/2)).
  logic p4_v;
  logic [31:0] p4_k;
  logic [16*E-1:0] p4_y;
  logic [32*E-1:0] p4_dest;
  generate
    for (gl = 0; gl < E; gl = gl + 1) begin : g_p4
      wire signed [63:0] s3 = $signed(p3_sum[64*gl+:64]);
      wire signed [63:0] r3 = (s3 >>> (F + 16)) + $signed({63'd0, s3[F+15]});
      always_ff @(posedge clk)
        p4_y[16*gl+:16] <= (r3 > 64'sd32767) ? 16'sd32767 : ((r3 < -64'sd32768) ? -16'sd32768 : r3[15:0]);
    end
  endgenerate
  always_ff @(posedge clk) begin
    p4_v <= p3_v && (phase != PH_GATE);
    p4_k <= p3_k;
    p4_dest <= p3_dest;
  end

  // Write-back: from the element-wise lanes (gates) or the output unit (projection, SpMV).
  logic wb_v, wb_gate;
  logic [16*E-1:0] wb_y, wb_c;
  logic [32*E-1:0] wb_dest;
  logic [31:0] wb_k;
  always_ff @(posedge clk) begin
    wb_v <= ew_ov[0] || p4_v;
    wb_gate <= ew_ov[0];
    if (ew_ov[0]) begin
      wb_y <= ew_h;
      wb_c <= ew_c;
      wb_k <= 32'(ew_tag[KCB-1:0]);
      for (int i = 0; i < E; i = i + 1) wb_dest[32*i+:32] <= ew_tag[TAGW*i+KCB+:32];
    end else begin
      wb_y <= p4_y;
      wb_dest <= p4_dest;
      wb_k <= p4_k;
    end
  end
  // Which region the write-back fills: the projection input m (gates with a projection), or the
  // other h buffer (gates without one, and the projection).
  wire wb_to_m = wb_gate && c_proj;
  wire wb_to_pe = wb_v && (phase != PH_SPMV);

  // ---------------------------------------------------------------- main control
  typedef enum logic [4:0] {
    ST_IDLE,
    ST_HEADER,
    ST_CHECK,
    ST_SIZE,
    ST_LOAD,
    ST_MATRIX,
    ST_X,
    ST_YIN,
    ST_SPMV,
    ST_SPMV_DRAIN,
    ST_YOUT,
    ST_H0,
    ST_C0,
    ST_STEPS,
    ST_CSTORE,
    ST_FINISH
  } state_t;
  state_t st;
  logic [1023:0] hdr;  // the image's two header words (a matrix has one)
  logic [31:0] img_tag;  // the loaded image's tag (header field 24); 0: none
  logic [31:0] cnt_a, cnt_b, cnt_c, cnt_d;  // loader counters
  logic [31:0] cycles;

  // In flight anywhere after the sequencer: rows issued but not finished, draining, slot stages,
  // element-wise lanes (counted in, counted out), write-back.
  logic [31:0] rows_issued, ew_inflight;
  wire pipe_busy = sq_run || (rows_issued != dr_row) || dr_busy || d_valid || p1_v || p2_v || p3_v || p4_v ||
      (ew_inflight != 0) || wb_v;
  always_ff @(posedge clk) begin
    if (rst || sq_start) rows_issued <= 0;
    else if (sq_valid && sq_last) rows_issued <= rows_issued + 1;
    if (rst) ew_inflight <= 0;
    else ew_inflight <= ew_inflight + (ew_in ? 32'd1 : 32'd0) - (ew_ov[0] ? 32'd1 : 32'd0);
  end

  // RUN: steps (compute), x fetches and y writes run side by side.
  logic [31:0] t_step, t_fetch, t_write;
  logic [63:0] x_ptr, y_ptr;  // the next frame's x and y in host memory
  logic [1:0] x_ready, y_pending;
  typedef enum logic [2:0] {
    CS_WAIT,
    CS_GATE,
    CS_GDRAIN,
    CS_PROJ,
    CS_PDRAIN
  } cstate_t;
  cstate_t cs;
  logic fetching, writing;
  logic [31:0] step_cycles;

  // Staging / c words the writer sends: a small read-ahead queue in front of the AXI writer.
  logic src_active, src_from_c;
  logic [31:0] src_next, src_end, src_left;
  logic [SAB-1:0] src_base;
  logic [511:0] q_data[4];
  logic [2:0] q_count;
  logic [1:0] q_head, q_tail;
  logic q_rd_pending;
  wire q_push = q_rd_pending;
  wire q_pop = wr_ivalid && wr_iready;
  wire src_issue = src_active && (src_next != src_end) && ({1'b0, q_count} + 4'(q_rd_pending) < 4'd3);
  assign wr_ivalid = (q_count != 0);
  assign wr_idata = q_data[q_head];
  logic [63:0] tail_strb;  // strobes of the last word (SpMV y may end mid-word)
  assign wr_istrb = (src_left == 1) ? tail_strb : {64{1'b1}};
  always_ff @(posedge clk) begin
    if (rst) begin
      q_count <= 0;
      q_head <= 0;
      q_tail <= 0;
      q_rd_pending <= 1'b0;
    end else begin
      q_rd_pending <= src_issue;
      if (q_push) begin
        q_data[q_tail] <= src_from_c ? c_rdata : stg_rdata;
        q_tail <= q_tail + 1;
      end
      if (q_pop) q_head <= q_head + 1;
      q_count <= q_count + (q_push ? 3'd1 : 3'd0) - (q_pop ? 3'd1 : 3'd0);
    end
  end

  // Memory port muxes (combinational).
  always_comb begin
    // Reads of the slot memories.
    dest_raddr = KAB'(d_dest_k);
    bias_raddr = KAB'(d_k);
    c_raddr = src_active && src_from_c ? CAB'(src_next) : CAB'(d_out_k >> PB);
    stg_raddr = src_active && !src_from_c ? src_base + SAB'(src_next) : {stg_half, (SAB - 1)'(d_k >> PB)};
    // Writes: the loaders (whole words) or the write-back (one slot).
    stg_we = '0;
    stg_waddr = '0;
    stg_wdata = rd_odata;
    c_we = '0;
    c_waddr = '0;
    c_wdata = rd_odata;
    if (sink == SINK_STAGING && rd_ovalid) begin
      stg_we = '1;
      stg_waddr = SAB'(cnt_a);
    end else if (wb_v && !wb_to_m) begin  // the cell outputs m are not outputs of a projected layer
      stg_waddr = {stg_half, (SAB - 1)'(wb_k >> PB)};
      stg_we[wb_k[PB-1:0]] = 1'b1;
      for (int i = 0; i < PER; i = i + 1) stg_wdata[16*E*i+:16*E] = wb_y;
    end
    if (sink == SINK_C && rd_ovalid) begin
      c_we = '1;
      c_waddr = CAB'(cnt_a);
    end else if (wb_v && wb_gate) begin
      c_waddr = CAB'(wb_k >> PB);
      c_we[wb_k[PB-1:0]] = 1'b1;
      for (int i = 0; i < PER; i = i + 1) c_wdata[16*E*i+:16*E] = wb_c;
    end
    // PE memories: the scatter (x, or h_0; registered) or the write-back (h or m). The host puts
    // a slot's lanes on distinct PEs, so a PE's port takes the OR of the lanes aimed at it: a
    // balanced OR tree rather than a priority chain across the lanes.
    xw_we = '0;
    hw_we = '0;
    mw_we = '0;
    xw_addr = '0;
    hw_addr = '0;
    mw_addr = '0;
    xw_data = '0;
    hw_data = '0;
    mw_data = '0;
    for (int p = 0; p < 16; p = p + 1) begin
      if (scw_valid && scw_pe == 4'(p)) begin
        if (scw_to_h) begin
          hw_we[p] = 1'b1;
          hw_addr[HAB*p+:HAB] = {scw_par, (HAB - 1)'(scw_off)};
          hw_data[16*p+:16] = scw_value;
        end else begin
          xw_we[p] = 1'b1;
          xw_addr[XAB*p+:XAB] = {scw_par, (XAB - 1)'(scw_off)};
          xw_data[16*p+:16] = scw_value;
        end
      end
      for (int i = 0; i < E; i = i + 1) begin
        if (wb_to_pe && wb_dest[32*i+31] && wb_dest[32*i+16+:4] == 4'(p)) begin
          if (wb_to_m) begin
            mw_we[p] = 1'b1;
            mw_addr[MAB*p+:MAB] = mw_addr[MAB*p+:MAB] | MAB'(wb_dest[32*i+:14]);
            mw_data[16*p+:16] = mw_data[16*p+:16] | wb_y[16*i+:16];
          end else begin
            hw_we[p] = 1'b1;
            hw_addr[HAB*p+:HAB] = hw_addr[HAB*p+:HAB] | {!hpar, (HAB - 1)'(wb_dest[32*i+:14])};
            hw_data[16*p+:16] = hw_data[16*p+:16] | wb_y[16*i+:16];
          end
        end
      end
    end
  end

  // Loader writes (registered from the reader's word).
  assign rd_oready = (sink == SINK_SCATTER) ? sc_take : (sink != SINK_NONE);
  wire rd_take = rd_ovalid && rd_oready;

  // The header's 32 fields.
  logic [31:0] hf[32];
  genvar gh;
  generate
    for (gh = 0; gh < 32; gh = gh + 1) begin : g_hf
      assign hf[gh] = hdr[32*gh+:32];
    end
  endgenerate

  always_ff @(posedge clk) begin
    rd_start <= 1'b0;
    wr_start <= 1'b0;
    sc_start <= 1'b0;
    sq_start <= 1'b0;
    ap_done <= 1'b0;
    ap_ready <= 1'b0;
    ww_en <= '0;
    dest_we <= 1'b0;
    bias_we <= 1'b0;
    tbl_we <= 1'b0;
    cycles <= cycles + 1;
    if (src_issue) begin
      src_next <= src_next + 1;
    end
    if (q_pop) src_left <= src_left - 1;
    if (src_active && src_next == src_end && q_count == 0 && !q_rd_pending && !wr_busy) src_active <= 1'b0;
    if (rst) begin
      st <= ST_IDLE;
      sink <= SINK_NONE;
      status_q <= 0;
      cyc_step_q <= 0;
      cyc_spmv_q <= 0;
      cyc_load_q <= 0;
      xpar <= 1'b0;
      hpar <= 1'b0;
      phase <= PH_SPMV;
      src_active <= 1'b0;
      cs <= CS_WAIT;
      c_proj <= 1'b0;
      img_tag <= 0;
    end else begin
      case (st)
        ST_IDLE: begin
          if (ap_start) begin
            ap_ready <= 1'b1;
            a_mode <= args[0+:32];
            a_pa <= args[32+:64];
            a_px <= args[96+:64];
            a_py <= args[160+:64];
            a_ps <= args[224+:64];
            a_frames <= args[288+:32];
            a_flags <= args[320+:32];
            a_alpha <= args[352+:32];
            a_beta <= args[384+:32];
            cycles <= 0;
            status_q <= 0;
            if (args[0+:32] == 1 || args[0+:32] == 3) begin
              rd_start <= 1'b1;
              rd_base <= args[32+:64];
              rd_beats <= (args[0+:32] == 1) ? 2 : 1;
              cnt_a <= 0;
              sink <= SINK_HEADER;
              st <= ST_HEADER;
            end else if (args[0+:32] == 2 && (img_tag == 0 || args[352+:32] != img_tag)) begin
              status_q <= 6;  // run: no image, or not the one the host meant (alpha_q carries its tag)
              st <= ST_FINISH;
            end else if (args[0+:32] == 2) begin
              t_step <= 0;
              t_fetch <= 0;
              t_write <= 0;
              x_ptr <= args[96+:64];
              y_ptr <= args[160+:64];
              x_ready <= 0;
              y_pending <= 0;
              fetching <= 1'b0;
              writing <= 1'b0;
              cs <= CS_WAIT;
              phase <= PH_GATE;
              if (args[320] && c_hb != 0) begin  // load h_0 into the h buffer read next
                rd_start <= 1'b1;
                rd_base <= args[224+:64];
                rd_beats <= c_hb;
                sink <= SINK_SCATTER;
                sc_start <= 1'b1;
                sc_n <= c_out;
                sc_bs <= c_bsh;
                sc_to_h <= 1'b1;
                sc_par <= hpar;
                st <= ST_H0;
              end else begin
                st <= ST_STEPS;
              end
            end else begin
              status_q <= 1;  // unknown mode
              st <= ST_FINISH;
            end
          end
        end
        ST_HEADER: begin
          if (rd_take) begin
            if (cnt_a == 0) hdr[511:0] <= rd_odata;
            else hdr[1023:512] <= rd_odata;
            cnt_a <= cnt_a + 1;
          end
          if (!rd_busy && !rd_start) begin
            sink <= SINK_NONE;
            st <= ST_CHECK;
          end
        end
        ST_CHECK: begin
          cnt_a <= 0;
          cnt_b <= 0;
          cnt_c <= 0;
          cnt_d <= 0;
          if (a_mode == 1) begin
            c_lg <= hf[5];
            c_wx <= hf[6];
            c_wh <= hf[7];
            c_lp <= hf[8];
            c_wp <= hf[9];
            c_bsx <= hf[10];
            c_bsh <= hf[11];
            c_kc <= hf[12];
            c_kp <= hf[13];
            c_proj <= hf[14] != 0;
            img_tag <= hf[24];
            c_in <= hf[15];
            c_out <= hf[16];
            c_perg <= hf[17];
            c_perp <= hf[18];
            c_wn <= hf[19];
            c_xb <= hf[20];
            c_yb <= hf[21];
            c_hb <= hf[22];
            c_cb <= hf[23];
            c_pbase <= hf[25];
            c_bias <= hf[27];
            if (hf[0] != IMAGE_MAGIC || hf[1] != 1) status_q <= 2;
            else if (hf[2] != R || hf[3] != E || hf[4] != F) status_q <= 3;
            else if (hf[19] > WD || hf[12] + hf[13] > KD || hf[27] > KD ||
                     hf[21] > SD || hf[23] > CD)
              status_q <= 4;
            if (hf[0] != IMAGE_MAGIC || hf[1] != 1 || hf[2] != R || hf[3] != E ||
                hf[4] != F || hf[19] > WD || hf[12] + hf[13] > KD || hf[27] > KD ||
                hf[21] > SD || hf[23] > CD) begin
              c_wn <= 0;  // nothing valid is loaded
              img_tag <= 0;
              c_lg <= 0;
              c_lp <= 0;
              st <= ST_FINISH;
            end else begin
              rd_start <= 1'b1;
              rd_base <= a_pa + 128;
              rd_beats <= hf[26];  // the image's words after the header
              sink <= SINK_IMAGE;
              st <= ST_LOAD;
            end
          end else begin
            m_rows <= hf[5];
            m_cols <= hf[6];
            m_bs <= hf[7];
            m_wpr <= hf[10];
            m_per <= hf[10] > S ? hf[10] : ((S > 1) ? S : 1);
            m_xb <= (hf[6] + 31) / 32;
            m_yb <= (hf[5] + 31) / 32;
            // rows + R - 1 <= 32 SD bounds the rows (so rows and words fit 16 bits); the local rows
            // and their words are counted next, without a divider.
            if (hf[0] != MATRIX_MAGIC || hf[1] != 1 || hf[2] != 1 || hf[3] != 16 || hf[11] != F || hf[4] > DX ||
                hf[10] > WD || hf[5] + R - 1 > 32 * SD) begin
              status_q <= 5;
              st <= ST_FINISH;
            end else begin
              c_wn <= 0;  // an LSTM image is overwritten
              img_tag <= 0;
              c_lg <= 0;
              c_lp <= 0;
              m_ls <= 0;
              cnt_a <= hf[5];  // rows left to count
              cnt_b <= 0;  // words of the counted local rows
              m_words <= 32'(hf[5][15:0] * hf[10][15:0]);
              st <= ST_SIZE;
            end
          end
        end
        ST_LOAD: begin
          // Sections: words (engine = beat % R), destinations, biases, sigmoid and tanh tables.
          if (rd_take) begin
            if (cnt_d == 0) begin
              ww_en <= R'(1) << cnt_a;
              ww_addr <= WAB'(cnt_b);
              ww_data <= rd_odata;
              if (cnt_a + 1 == R) begin
                cnt_a <= 0;
                cnt_b <= cnt_b + 1;
                if (cnt_b + 1 == c_wn) cnt_d <= 1;
              end else begin
                cnt_a <= cnt_a + 1;
              end
            end else if (cnt_d == 1) begin
              dest_we <= 1'b1;
              dest_waddr <= KAB'(cnt_c);
              dest_wdata <= rd_odata;
              cnt_c <= cnt_c + 1;
              if (cnt_c + 1 == c_kc + c_kp) begin
                cnt_d <= 2;
                cnt_c <= 0;
              end
            end else if (cnt_d == 2) begin
              bias_we <= 1'b1;
              bias_waddr <= KAB'(cnt_c);
              bias_wdata <= rd_odata;
              cnt_c <= cnt_c + 1;
              if (cnt_c + 1 == c_bias) begin
                cnt_d <= 3;
                cnt_c <= 0;
              end
            end else begin
              tbl_we <= 1'b1;
              tbl_tanh <= (cnt_c >= 1025);
              tbl_addr <= 11'(cnt_c >= 1025 ? cnt_c - 1025 : cnt_c);
              tbl_lo <= rd_odata[20:0];
              tbl_delta <= rd_odata[47:32];
              cnt_c <= cnt_c + 1;
            end
            // Empty sections are skipped.
            if (cnt_d == 0 && c_wn == 0) cnt_d <= 1;
          end
          if (cnt_d == 1 && c_kc + c_kp == 0) cnt_d <= 2;
          if (cnt_d == 2 && c_bias == 0) cnt_d <= 3;
          if (!rd_busy && !rd_start) begin
            sink <= SINK_NONE;
            cyc_load_q <= cycles;
            st <= ST_FINISH;
          end
        end
        ST_SIZE: begin
          // One local row (R rows, or what is left) per cycle.
          if (cnt_b > WD) begin
            status_q <= 5;
            st <= ST_FINISH;
          end else if (cnt_a == 0) begin
            cnt_a <= 0;
            cnt_b <= 0;
            rd_start <= 1'b1;  // every word of the matrix, then x
            rd_base <= a_pa + 64;
            rd_beats <= m_words;
            sink <= SINK_MATRIX;
            st <= ST_MATRIX;
          end else begin
            cnt_a <= (cnt_a > R) ? cnt_a - R : 0;
            cnt_b <= cnt_b + m_wpr;
            m_ls <= m_ls + 1;
          end
        end
        ST_MATRIX: begin
          // Word w of row l * R + e goes to engine e at l * wpr + w.
          if (rd_take) begin
            ww_en <= R'(1) << cnt_b;
            ww_addr <= WAB'(cnt_c + cnt_a);
            ww_data <= rd_odata;
            if (cnt_a + 1 == m_wpr) begin
              cnt_a <= 0;
              if (cnt_b + 1 == R) begin
                cnt_b <= 0;
                cnt_c <= cnt_c + m_wpr;
              end else begin
                cnt_b <= cnt_b + 1;
              end
            end else begin
              cnt_a <= cnt_a + 1;
            end
          end
          if (!rd_busy && !rd_start) begin
            rd_start <= 1'b1;
            rd_base <= a_px;
            rd_beats <= m_xb;
            sink <= SINK_SCATTER;
            sc_start <= 1'b1;
            sc_n <= m_cols;
            sc_bs <= m_bs;
            sc_to_h <= 1'b0;
            sc_par <= 1'b0;
            xpar <= 1'b0;
            st <= ST_X;
          end
        end
        ST_X:
        if (!rd_busy && !rd_start && !sc_active && !sc_start) begin
          stg_half <= 1'b0;
          cnt_a <= 0;
          if (a_beta != 0) begin
            rd_start <= 1'b1;
            rd_base <= a_py;
            rd_beats <= m_yb;
            sink <= SINK_STAGING;
            st <= ST_YIN;
          end else begin
            sink <= SINK_NONE;
            st <= ST_YIN;
          end
        end
        ST_YIN: begin
          if (rd_take) cnt_a <= cnt_a + 1;
          if (!rd_busy && !rd_start) begin
            sink <= SINK_NONE;
            phase <= PH_SPMV;
            sq_start <= 1'b1;
            sq_rows <= m_ls;
            sq_na <= m_wpr;
            sq_nb <= 0;
            sq_per <= m_per;
            sq_base <= 0;
            step_cycles <= 0;
            st <= ST_SPMV;
          end
        end
        ST_SPMV: begin
          step_cycles <= step_cycles + 1;
          if (!sq_start && !pipe_busy) begin
            cyc_spmv_q <= step_cycles;
            src_active <= 1'b1;
            src_from_c <= 1'b0;
            src_base <= 0;
            src_next <= 0;
            src_end <= m_yb;
            src_left <= m_yb;
            tail_strb <= (m_rows[4:0] == 0) ? {64{1'b1}} : ({64{1'b1}} >> (64 - 2 * m_rows[4:0]));
            wr_start <= 1'b1;
            wr_base <= a_py;
            wr_beats <= m_yb;
            st <= ST_YOUT;
          end
        end
        ST_YOUT:
        if (!wr_start && !src_active && !wr_busy) st <= ST_FINISH;
        ST_H0:
        if (!rd_busy && !rd_start && !sc_active && !sc_start) begin
          cnt_a <= 0;
          if (c_cb != 0) begin
            rd_start <= 1'b1;
            rd_base <= a_ps + {32'd0, c_hb[25:0], 6'd0};
            rd_beats <= c_cb;
            sink <= SINK_C;
            st <= ST_C0;
          end else begin
            sink <= SINK_NONE;
            st <= ST_STEPS;
          end
        end
        ST_C0: begin
          if (rd_take) cnt_a <= cnt_a + 1;
          if (!rd_busy && !rd_start) begin
            sink <= SINK_NONE;
            st <= ST_STEPS;
          end
        end
        ST_STEPS: begin
          // x fetch: frame t_fetch into buffer t_fetch % 2 once that buffer is free.
          if (!fetching && t_fetch < a_frames && !x_ready[t_fetch[0]]) begin
            fetching <= 1'b1;
            rd_start <= 1'b1;
            rd_base <= x_ptr;
            x_ptr <= x_ptr + {32'd0, c_xb[25:0], 6'd0};
            rd_beats <= c_xb;
            sink <= SINK_SCATTER;
            sc_start <= 1'b1;
            sc_n <= c_in;
            sc_bs <= c_bsx;
            sc_to_h <= 1'b0;
            sc_par <= t_fetch[0];
          end else if (fetching && !rd_busy && !rd_start && !sc_active && !sc_start) begin
            fetching <= 1'b0;
            x_ready[t_fetch[0]] <= 1'b1;
            t_fetch <= t_fetch + 1;
            sink <= SINK_NONE;
          end
          // y write: the staging buffer of step t_write once that step is done.
          if (!writing && y_pending[t_write[0]] && t_write < t_step) begin
            writing <= 1'b1;
            src_active <= 1'b1;
            src_from_c <= 1'b0;
            src_base <= {t_write[0], (SAB - 1)'(0)};
            src_next <= 0;
            src_end <= c_yb;
            src_left <= c_yb;
            tail_strb <= {64{1'b1}};
            wr_start <= 1'b1;
            wr_base <= y_ptr;
            y_ptr <= y_ptr + {32'd0, c_yb[25:0], 6'd0};
            wr_beats <= c_yb;
          end else if (writing && !wr_start && !src_active && !wr_busy) begin
            writing <= 1'b0;
            y_pending[t_write[0]] <= 1'b0;
            t_write <= t_write + 1;
          end
          // Compute: step t_step reads x buffer t_step % 2 and h buffer hpar, writes staging t_step % 2.
          step_cycles <= step_cycles + 1;
          case (cs)
            CS_WAIT:
            if (t_step < a_frames && x_ready[t_step[0]] && !y_pending[t_step[0]]) begin
              xpar <= t_step[0];
              stg_half <= t_step[0];
              phase <= PH_GATE;
              sq_start <= 1'b1;
              sq_rows <= c_lg;
              sq_na <= c_wx;
              sq_nb <= c_wh;
              sq_per <= c_perg;
              sq_base <= 0;
              step_cycles <= 1;
              cs <= CS_GATE;
            end
            CS_GATE: if (!sq_start && !pipe_busy) cs <= CS_GDRAIN;
            CS_GDRAIN: begin
              x_ready[t_step[0]] <= 1'b0;
              if (c_proj) begin
                phase <= PH_PROJ;
                sq_start <= 1'b1;
                sq_rows <= c_lp;
                sq_na <= c_wp;
                sq_nb <= 0;
                sq_per <= c_perp;
                sq_base <= c_pbase;
                cs <= CS_PROJ;
              end else begin
                cs <= CS_PDRAIN;
              end
            end
            CS_PROJ: if (!sq_start && !pipe_busy) cs <= CS_PDRAIN;
            default: begin  // CS_PDRAIN: the step is done
              hpar <= !hpar;
              y_pending[t_step[0]] <= 1'b1;
              t_step <= t_step + 1;
              cyc_step_q <= step_cycles;
              phase <= PH_GATE;
              cs <= CS_WAIT;
            end
          endcase
          if (t_write == a_frames && !writing && cs == CS_WAIT) begin
            if (a_flags[1] && c_cb != 0) begin
              src_active <= 1'b1;
              src_from_c <= 1'b1;
              src_next <= 0;
              src_end <= c_cb;
              src_left <= c_cb;
              tail_strb <= {64{1'b1}};
              wr_start <= 1'b1;
              wr_base <= a_ps + {32'd0, c_hb[25:0], 6'd0};
              wr_beats <= c_cb;
              st <= ST_CSTORE;
            end else begin
              st <= ST_FINISH;
            end
          end
        end
        ST_CSTORE:
        if (!wr_start && !src_active && !wr_busy) st <= ST_FINISH;
        default: begin  // ST_FINISH
          sink <= SINK_NONE;
          phase <= PH_SPMV;
          ap_done <= 1'b1;
          st <= ST_IDLE;
        end
      endcase
    end
  end
  assign ap_idle = (st == ST_IDLE);
  // Where the control is, for a host that gives up waiting: state, step state, sink, counts.
  assign dbg_state = {3'(cs), 5'(st), 3'(sink), rd_busy, wr_busy, sc_active, fetching, writing, x_ready, y_pending,
                      4'(t_step), 4'(t_fetch), 2'(t_write), pipe_busy, sq_run};

endmodule
/* verilator lint_on UNUSEDSIGNAL */
