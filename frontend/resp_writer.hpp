// RESP2 encoders: append one reply element to an output string. Pure functions.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace clossyne::frontend {

void resp_simple(std::string& out, std::string_view s);  // +s
void resp_bulk(std::string& out, std::string_view s);    // $len s
void resp_nil(std::string& out);                         // $-1
void resp_int(std::string& out, int64_t n);              // :n
void resp_array(std::string& out, std::size_t n);        // *n (then n elements)

// -ERR msg. A message that already starts with "ERR " is not prefixed twice; CR and LF inside it
// become spaces so the error stays one line.
void resp_error(std::string& out, std::string_view msg);
// The same, as a fresh string.
std::string resp_error(std::string_view msg);

// The error text as resp_error writes it, without '-' and CRLF ("ERR ...", one line).
std::string error_line(std::string_view msg);

}  // namespace clossyne::frontend
