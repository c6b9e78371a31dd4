// BBS_HLS_PRAGMA(HLS PIPELINE II = 1) is `#pragma HLS PIPELINE II = 1` under Vitis HLS synthesis
// and nothing elsewhere. The kernel headers are also compiled by g++ inside test and emulator
// code built with -Wall -Werror, and GCC 12 cannot silence -Wunknown-pragmas for a header's
// lines, so the headers spell their pragmas through this macro (_Pragma is what Vitis HLS
// documents for pragmas in macros). The kernel shells (*.cpp) use plain #pragma lines and are
// compiled with -Wno-unknown-pragmas.
#pragma once

#ifdef __SYNTHESIS__
#define BBS_HLS_PRAGMA(text) _Pragma(#text)
#else
#define BBS_HLS_PRAGMA(text)
#endif
