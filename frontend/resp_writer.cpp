#include "resp_writer.hpp"

namespace clossyne::frontend {

void resp_simple(std::string& out, std::string_view s) {
  out.push_back('+');
  out.append(s);
  out.append("\r\n");
}

void resp_bulk(std::string& out, std::string_view s) {
  out.push_back('$');
  out.append(std::to_string(s.size()));
  out.append("\r\n");
  out.append(s);
  out.append("\r\n");
}

void resp_nil(std::string& out) {
  out.append("$-1\r\n");
}

void resp_int(std::string& out, int64_t n) {
  out.push_back(':');
  out.append(std::to_string(n));
  out.append("\r\n");
}

void resp_array(std::string& out, std::size_t n) {
  out.push_back('*');
  out.append(std::to_string(n));
  out.append("\r\n");
}

std::string error_line(std::string_view msg) {
  std::string line = msg.starts_with("ERR ") ? std::string() : std::string("ERR ");
  line.append(msg);
  for (auto& c : line) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return line;
}

void resp_error(std::string& out, std::string_view msg) {
  out.push_back('-');
  out.append(error_line(msg));
  out.append("\r\n");
}

std::string resp_error(std::string_view msg) {
  std::string out;
  resp_error(out, msg);
  return out;
}

}  // namespace clossyne::frontend
