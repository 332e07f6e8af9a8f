// Renders a broker status reply: a human-readable table, or the JSON documented in docs/ADMIN.md
// (scripts rely on its shape).
#pragma once
#include <string>

#include "common/envelope.hpp"

namespace clossyne::admin {

std::string status_table(const Reply& status);
std::string status_json(const Reply& status);

}  // namespace clossyne::admin
