// The cluster's status as JSON: what `clossyne-admin status --json` prints and what the broker
// serves at /status.json (one renderer, so the two never differ). Its shape is documented in
// docs/ADMIN.md; scripts and the cluster page rely on it.
#pragma once
#include <string>

#include "envelope.hpp"

namespace clossyne {

// `status`: a broker status reply. One line of JSON, newline-terminated.
std::string status_json(const Reply& status);

}  // namespace clossyne
