#include "reply_format.hpp"

#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

void write_values(std::string& out, const Reply& r) {
  const auto none = std::vector<std::optional<std::string>>{};
  const auto& values = r.values ? *r.values : none;
  resp_array(out, values.size());
  for (const auto& v : values) {
    if (v) {
      resp_bulk(out, *v);
    } else {
      resp_nil(out);
    }
  }
}

void write_items(std::string& out, const Reply& r) {
  const std::size_t n = r.items ? r.items->size() : 0;
  resp_array(out, 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    resp_bulk(out, (*r.items)[i].first);
    resp_bulk(out, (*r.items)[i].second);
  }
}

void write_where(std::string& out, const Reply& r) {
  const WhereInfo w = r.where ? *r.where : WhereInfo{};
  resp_array(out, w.members.empty() ? 10 : 12);
  resp_bulk(out, "shard");
  resp_int(out, w.shard);
  resp_bulk(out, "owner");
  resp_bulk(out, w.owner);
  resp_bulk(out, "path");
  resp_bulk(out, w.path);
  resp_bulk(out, "depth");
  resp_int(out, w.depth);
  resp_bulk(out, "found");
  resp_int(out, w.found ? 1 : 0);
  if (w.members.empty()) return;
  resp_bulk(out, "members");  // a replicated shard: primary first
  resp_array(out, w.members.size());
  for (const auto& m : w.members) resp_bulk(out, m);
}

void write_seed_rng(std::string& out, const Reply& r) {
  if (!r.items || r.items->empty()) {
    out.append("NIL");
    return;
  }
  for (std::size_t i = 0; i < r.items->size(); ++i) {
    if (i > 0) out.push_back('\n');
    out.append((*r.items)[i].first);
    out.push_back(' ');
    out.append((*r.items)[i].second);
  }
}

// The string and key commands' replies (common/keyed_ops.hpp): the worker says what it answers.
void write_auto(std::string& out, const Reply& r) {
  if (r.values) return write_values(out, r);
  if (r.n) return resp_int(out, *r.n);
  if (r.has_value) return r.value ? resp_bulk(out, *r.value) : resp_nil(out);
  resp_simple(out, "OK");
}

void write_resp(std::string& out, ReplyKind kind, const Reply& r) {
  switch (kind) {
    case ReplyKind::kOk:
      return resp_simple(out, "OK");
    case ReplyKind::kBulk:
      return r.value ? resp_bulk(out, *r.value) : resp_nil(out);
    case ReplyKind::kInteger:
      return resp_int(out, r.n.value_or(0));
    case ReplyKind::kValues:
      return write_values(out, r);
    case ReplyKind::kItems:
      return write_items(out, r);
    case ReplyKind::kWhere:
      return write_where(out, r);
    case ReplyKind::kType:
      return resp_simple(out, r.n.value_or(0) > 0 ? "string" : "none");
    case ReplyKind::kAuto:
      return write_auto(out, r);
    default:
      return;
  }
}

void write_seed(std::string& out, ReplyKind kind, const Reply& r) {
  if (kind == ReplyKind::kSeedSet) {
    out.append("OK");
  } else if (kind == ReplyKind::kSeedGet) {
    out.append(r.value ? std::string_view(*r.value) : std::string_view("NS"));
  } else if (kind == ReplyKind::kSeedDel) {
    out.append(r.n.value_or(0) > 0 ? "OK" : "NS");
  } else if (kind == ReplyKind::kSeedRng) {
    write_seed_rng(out, r);
  }
}

}  // namespace

std::string format_reply(const ReplyFormat& format, const Reply& reply) {
  if (!reply.ok) return format_error(format, reply.error.empty() ? "cluster error" : reply.error);
  std::string out;
  if (!format.seed()) {
    write_resp(out, format.kind, reply);
    return out;
  }
  write_seed(out, format.kind, reply);
  out.append(eol_text(format.eol));
  return out;
}

std::string format_error(const ReplyFormat& format, std::string_view msg) {
  std::string out;
  if (!format.seed()) {
    resp_error(out, msg);
    return out;
  }
  out.push_back('-');
  out.append(error_line(msg));
  out.append(eol_text(format.eol));
  return out;
}

}  // namespace clossyne::frontend
