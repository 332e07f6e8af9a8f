// The live cluster page the broker serves at GET / with --http: one self-contained HTML page
// (inline CSS and JavaScript, nothing fetched from elsewhere) that redraws every second from
// /status.json: the key space as a strip of shards, the workers, the changes under way.
#pragma once
#include <string_view>

namespace clossyne::broker {

std::string_view cluster_page_html();

}  // namespace clossyne::broker
