// Writes small .xclbin files for the XRT tests under XCL_EMULATION_MODE=noop: no bitstream, just
// the sections XRT reads to know the kernels (MEM_TOPOLOGY, IP_LAYOUT, CONNECTIVITY and the
// EMBEDDED_METADATA XML with each kernel's argument list), built with the structs of
// <xrt/xclbin.h>. A test describes the kernels it wants, so it can also write wrong ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <xrt/xclbin.h>

namespace bbs_test {

struct XclbinArg {
  std::string name;
  std::string host_type;  // "void*" for buffers, "int" or "float" for scalars
};

struct XclbinKernel {
  std::string name;
  std::vector<XclbinArg> args;
};

/// The kernels of backends/fpga/hw as v++ would describe them.
inline std::vector<XclbinKernel> shipped_kernels() {
  return {{"bbs_spmv_fixed16",
           {{"p_matrix", "void*"}, {"p_x", "void*"}, {"p_y", "void*"}, {"p_alpha_q", "int"}, {"p_beta_q", "int"}}},
          {"bbs_spmv_float",
           {{"p_matrix", "void*"}, {"p_x", "void*"}, {"p_y", "void*"}, {"p_alpha", "float"}, {"p_beta", "float"}}}};
}

namespace xclbin_detail {

inline bool is_buffer(const XclbinArg& a) { return !a.host_type.empty() && a.host_type.back() == '*'; }

template <typename S>
std::vector<char> bytes_of(const S& s, std::size_t size = sizeof(S)) {
  std::vector<char> out(size, 0);
  std::memcpy(out.data(), &s, size < sizeof(S) ? size : sizeof(S));
  return out;
}

inline std::string hex(std::uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

constexpr std::uint64_t cu_base = 0x1800000;
constexpr std::uint64_t cu_stride = 0x10000;
constexpr int mem_banks = 2;

inline std::vector<char> mem_topology_section() {
  std::vector<char> out(offsetof(mem_topology, m_mem_data) + mem_banks * sizeof(mem_data), 0);
  const std::int32_t count = mem_banks;
  std::memcpy(out.data(), &count, sizeof count);
  for (int i = 0; i < mem_banks; ++i) {
    mem_data m{};
    m.m_type = MEM_DDR4;
    m.m_used = 1;
    m.m_size = 1 << 20;  // KB: 1 GiB per bank
    m.m_base_address = static_cast<std::uint64_t>(i) << 32;
    std::snprintf(reinterpret_cast<char*>(m.m_tag), sizeof m.m_tag, "bank%d", i);
    std::memcpy(out.data() + offsetof(mem_topology, m_mem_data) + i * sizeof(mem_data), &m, sizeof m);
  }
  return out;
}

inline std::vector<char> ip_layout_section(const std::vector<XclbinKernel>& kernels) {
  std::vector<char> out(offsetof(ip_layout, m_ip_data) + kernels.size() * sizeof(ip_data), 0);
  const auto count = static_cast<std::int32_t>(kernels.size());
  std::memcpy(out.data(), &count, sizeof count);
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    ip_data ip{};
    ip.m_type = IP_KERNEL;
    ip.properties = (AP_CTRL_HS << IP_CONTROL_SHIFT) | IP_INT_ENABLE_MASK |
                    ((static_cast<std::uint32_t>(i) << IP_INTERRUPT_ID_SHIFT) & IP_INTERRUPT_ID_MASK);
    ip.m_base_address = cu_base + i * cu_stride;
    const std::string name = kernels[i].name + ":" + kernels[i].name + "_1";
    std::snprintf(reinterpret_cast<char*>(ip.m_name), sizeof ip.m_name, "%s", name.c_str());
    std::memcpy(out.data() + offsetof(ip_layout, m_ip_data) + i * sizeof(ip_data), &ip, sizeof ip);
  }
  return out;
}

/// Buffer argument a of kernel k goes to memory bank a % mem_banks.
inline std::vector<char> connectivity_section(const std::vector<XclbinKernel>& kernels) {
  std::vector<connection> links;
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    for (std::size_t a = 0; a < kernels[k].args.size(); ++a) {
      if (!is_buffer(kernels[k].args[a])) continue;
      links.push_back(
          {static_cast<std::int32_t>(a), static_cast<std::int32_t>(k), static_cast<std::int32_t>(a % mem_banks)});
    }
  }
  std::vector<char> out(offsetof(connectivity, m_connection) + links.size() * sizeof(connection), 0);
  const auto count = static_cast<std::int32_t>(links.size());
  std::memcpy(out.data(), &count, sizeof count);
  if (!links.empty()) {
    std::memcpy(out.data() + offsetof(connectivity, m_connection), links.data(), links.size() * sizeof(connection));
  }
  return out;
}

/// The XML XRT's xclbin parser reads: project.platform.device.core.kernel, each with its control
/// port, arguments (id, control-register offset, size, host type) and one instance.
inline std::string metadata_xml(const std::vector<XclbinKernel>& kernels) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"bbs_noop_test\">\n"
    << " <platform vendor=\"xilinx\" boardid=\"noop\" name=\"bbs_noop\" featureRomTime=\"0\">\n"
    << "  <device name=\"fpga0\" fpgaDevice=\"noop\" addrWidth=\"0\">\n"
    << "   <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\" clockFreq=\"300MHz\" numComputeUnits=\""
    << kernels.size() << "\">\n";
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    const XclbinKernel& kern = kernels[k];
    x << "    <kernel name=\"" << kern.name << "\" language=\"c\" vlnv=\"xilinx.com:hls:" << kern.name
      << ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\""
      << " hwControlProtocol=\"ap_ctrl_hs\">\n"
      << "     <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\" portType=\"addressable\""
      << " base=\"0x0\"/>\n"
      << "     <port name=\"M_AXI_GMEM\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"512\""
      << " portType=\"addressable\" base=\"0x0\"/>\n";
    std::uint64_t offset = 0x10;
    for (std::size_t a = 0; a < kern.args.size(); ++a) {
      const XclbinArg& arg = kern.args[a];
      const bool buffer = is_buffer(arg);
      const std::uint64_t size = buffer ? 8 : 4;
      x << "     <arg name=\"" << arg.name << "\" addressQualifier=\"" << (buffer ? 1 : 0) << "\" id=\"" << a
        << "\" port=\"" << (buffer ? "M_AXI_GMEM" : "S_AXI_CONTROL") << "\" size=\"" << hex(size) << "\" offset=\""
        << hex(offset) << "\" hostOffset=\"0x0\" hostSize=\"" << hex(size) << "\" type=\"" << arg.host_type << "\"/>\n";
      offset += buffer ? 12 : 8;  // registers are 32 bits; a 64-bit address takes two plus a gap
    }
    x << "     <instance name=\"" << kern.name << "_1\">\n"
      << "      <addrRemap base=\"" << hex(cu_base + k * cu_stride) << "\" port=\"S_AXI_CONTROL\"/>\n"
      << "     </instance>\n    </kernel>\n";
  }
  x << "   </core>\n  </device>\n </platform>\n</project>\n";
  return x.str();
}

}  // namespace xclbin_detail

/// Writes an .xclbin describing `kernels` to path.
inline void write_test_xclbin(const std::string& path, const std::vector<XclbinKernel>& kernels) {
  using namespace xclbin_detail;
  const std::string xml = metadata_xml(kernels);
  const std::vector<std::pair<axlf_section_kind, std::vector<char>>> sections = {
      {MEM_TOPOLOGY, mem_topology_section()},
      {IP_LAYOUT, ip_layout_section(kernels)},
      {CONNECTIVITY, connectivity_section(kernels)},
      {EMBEDDED_METADATA, std::vector<char>(xml.begin(), xml.end())}};

  const std::size_t header_bytes = sizeof(axlf) + (sections.size() - 1) * sizeof(axlf_section_header);
  std::vector<char> file(header_bytes, 0);
  std::vector<axlf_section_header> headers;
  for (const auto& s : sections) {
    while (file.size() % 8 != 0) file.push_back(0);
    axlf_section_header h{};
    h.m_sectionKind = s.first;
    std::snprintf(h.m_sectionName, sizeof h.m_sectionName, "bbs%d", static_cast<int>(s.first));
    h.m_sectionOffset = file.size();
    h.m_sectionSize = s.second.size();
    headers.push_back(h);
    file.insert(file.end(), s.second.begin(), s.second.end());
  }

  axlf top{};
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1;
  std::memset(top.reserved, 0xFF, sizeof top.reserved);
  top.m_header.m_length = file.size();
  top.m_header.m_versionMajor = 2;
  top.m_header.m_versionMinor = 13;
  top.m_header.m_mode = XCLBIN_FLAT;
  std::snprintf(reinterpret_cast<char*>(top.m_header.m_platformVBNV), sizeof top.m_header.m_platformVBNV,
                "xilinx_noop_test_platform");
  // A fixed uuid per kernel list: loading the same file twice is the same program.
  std::uint64_t hash = 1469598103934665603ull;
  for (char c : xml) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::memcpy(top.m_header.uuid, &hash, sizeof hash);
  std::memcpy(top.m_header.uuid + sizeof hash, &hash, sizeof hash);
  top.m_header.m_numSections = static_cast<std::uint32_t>(sections.size());
  std::memcpy(file.data(), &top, offsetof(axlf, m_sections));
  std::memcpy(file.data() + offsetof(axlf, m_sections), headers.data(), headers.size() * sizeof(axlf_section_header));

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace bbs_test
