// Splits an inline command line into arguments with Redis's quoting rules (sdssplitargs):
// whitespace separates arguments; "double quotes" understand \n \r \t \b \a \xHH \\ \" and any
// other escaped character stands for itself; 'single quotes' understand only \'. A closing quote
// must be followed by whitespace or the end of the line. Pure function.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clossyne::frontend {

// nullopt when the quotes are unbalanced (the caller answers a protocol error).
std::optional<std::vector<std::string>> split_inline_args(std::string_view line);

}  // namespace clossyne::frontend
