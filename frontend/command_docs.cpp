#include "command_docs.hpp"

#include <algorithm>

#include "command_table.hpp"
#include "glob_match.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// One `[?][+][TOKEN=]name[:type]` argument as a COMMAND DOCS argument map.
void write_arg_doc(std::string& out, std::string_view spec) {
  std::vector<std::string_view> flags;
  for (; !spec.empty() && (spec[0] == '?' || spec[0] == '+'); spec.remove_prefix(1)) {
    flags.push_back(spec[0] == '?' ? "optional" : "multiple");
  }
  std::string_view token;
  if (const std::size_t eq = spec.find('='); eq != std::string_view::npos) {
    token = spec.substr(0, eq);
    spec.remove_prefix(eq + 1);
  }
  std::string_view type = "string";
  if (const std::size_t colon = spec.find(':'); colon != std::string_view::npos) {
    type = spec.substr(colon + 1);
    spec = spec.substr(0, colon);
  }
  resp_array(out, 4 + (token.empty() ? 0 : 2) + (flags.empty() ? 0 : 2));
  resp_bulk(out, "name");
  resp_bulk(out, spec);
  resp_bulk(out, "type");
  resp_bulk(out, type);
  if (!token.empty()) {
    resp_bulk(out, "token");
    resp_bulk(out, token);
  }
  if (flags.empty()) return;
  resp_bulk(out, "flags");
  resp_array(out, flags.size());
  for (auto f : flags) resp_simple(out, f);
}

void write_docs(std::string& out, const CommandSpec& c) {
  const std::vector<std::string_view> args = split(c.args, ';');
  resp_bulk(out, c.name);
  resp_array(out, args.empty() ? 6 : 8);
  resp_bulk(out, "summary");
  resp_bulk(out, c.summary);
  resp_bulk(out, "since");
  resp_bulk(out, "1.0.0");
  resp_bulk(out, "group");
  resp_bulk(out, c.group);
  if (args.empty()) return;
  resp_bulk(out, "arguments");
  resp_array(out, args.size());
  for (auto a : args) write_arg_doc(out, a);
}

// Redis 7's 10-element COMMAND INFO entry.
void write_info(std::string& out, const CommandSpec& c) {
  const std::vector<std::string_view> flags = split(c.flags, ' ');
  resp_array(out, 10);
  resp_bulk(out, c.name);
  resp_int(out, c.arity);
  resp_array(out, flags.size());
  for (auto f : flags) resp_simple(out, f);
  resp_int(out, c.first_key);
  resp_int(out, c.last_key);
  resp_int(out, c.key_step);
  const std::vector<std::string_view> categories = acl_categories(c);
  resp_array(out, categories.size());
  for (auto cat : categories) {
    std::string name(1, '@');
    name.append(cat);
    resp_simple(out, name);
  }
  for (int i = 0; i < 3; ++i) resp_array(out, 0);  // tips, key specs, subcommands
}

// The specs named in args[2..], or every spec when none is named; unknown names give nullptr.
std::vector<const CommandSpec*> named(const std::vector<std::string>& args) {
  std::vector<const CommandSpec*> out;
  if (args.size() <= 2) {
    for (const auto& c : kCommandTable) out.push_back(&c);
  }
  for (std::size_t i = 2; i < args.size(); ++i) out.push_back(find_command(args[i]));
  return out;
}

std::string info_reply(const std::vector<const CommandSpec*>& specs) {
  std::string out;
  resp_array(out, specs.size());
  for (const CommandSpec* c : specs) {
    if (c == nullptr) {
      resp_nil(out);
    } else {
      write_info(out, *c);
    }
  }
  return out;
}

std::string docs_reply(std::vector<const CommandSpec*> specs) {
  std::erase(specs, nullptr);
  std::string out;
  resp_array(out, 2 * specs.size());
  for (const CommandSpec* c : specs) write_docs(out, *c);
  return out;
}

// COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern], parsed as Redis 7's
// commandListCommand. There are no modules; ACLCAT takes the category without '@'.
std::string list_reply(const std::vector<std::string>& args) {
  std::string out;
  std::string type, arg;
  for (std::size_t i = 2; i < args.size(); i += 3) {
    if (to_lower(args[i]) != "filterby" || args.size() - 1 - i != 2) {
      resp_error(out, "syntax error");
      return out;
    }
    type = to_lower(args[i + 1]);
    if (type != "module" && type != "aclcat" && type != "pattern") {
      resp_error(out, "syntax error");
      return out;
    }
    arg = args[i + 2];
  }
  std::vector<std::string_view> names;
  for (const auto& c : kCommandTable) {
    bool keep = true;
    if (type == "module") {
      keep = false;
    } else if (type == "aclcat") {
      const auto cats = acl_categories(c);
      keep = std::find(cats.begin(), cats.end(), to_lower(arg)) != cats.end();
    } else if (type == "pattern") {
      keep = glob_match(arg, c.name, /*nocase=*/true);
    }
    if (keep) names.push_back(c.name);
  }
  resp_array(out, names.size());
  for (auto n : names) resp_bulk(out, n);
  return out;
}

}  // namespace

std::string command_reply(const std::vector<std::string>& args) {
  std::string out;
  if (args.size() == 1) return info_reply(named(args));
  const std::string sub = to_lower(args[1]);
  if (sub == "count") {
    resp_int(out, static_cast<int64_t>(kCommandTable.size()));
  } else if (sub == "list") {
    out = list_reply(args);
  } else if (sub == "info") {
    out = info_reply(named(args));
  } else if (sub == "docs") {
    out = docs_reply(named(args));
  } else {
    resp_error(out, "unknown subcommand '" + args[1].substr(0, 128) + "'. Try COMMAND HELP.");
  }
  return out;
}

}  // namespace clossyne::frontend
