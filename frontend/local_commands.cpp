#include "local_commands.hpp"

#include "resp_parser.hpp"
#include "resp_writer.hpp"

namespace clossyne::frontend {
namespace {

using Args = std::vector<std::string>;

std::string simple(std::string_view s) {
  std::string out;
  resp_simple(out, s);
  return out;
}
std::string error(std::string_view s) {
  std::string out;
  resp_error(out, s);
  return out;
}
std::string bulk(std::string_view s) {
  std::string out;
  resp_bulk(out, s);
  return out;
}

Action ping(const Args& args) {
  return Action::local(args.size() > 1 ? bulk(args[1]) : simple("PONG"));
}

Action command(const Args& args) {
  // An empty COMMAND reply is enough for redis-cli; COUNT tells the truth about our table.
  if (args.size() > 1 && to_lower(args[1]) == "count") {
    std::string out;
    resp_int(out, static_cast<int64_t>(kCommandTable.size()));
    return Action::local(out);
  }
  return Action::local("*0\r\n");
}

Action select(const Args& args) {
  long long index = 0;
  if (!parse_int64(args[1], index))
    return Action::local(error("value is not an integer or out of range"));
  if (index != 0) return Action::local(error("DB index is out of range"));
  return Action::local(simple("OK"));
}

Action client(const Args& args, ClientState& state) {
  const std::string sub = to_lower(args[1]);
  if (sub == "setname") {
    if (args.size() != 3)
      return Action::local(error("wrong number of arguments for 'client|setname' command"));
    state.name = args[2];
    return Action::local(simple("OK"));
  }
  if (sub == "getname") {
    if (state.name.empty()) return Action::local("$-1\r\n");
    return Action::local(bulk(state.name));
  }
  return Action::local(simple("OK"));
}

Action config(const Args& args) {
  if (to_lower(args[1]) == "get") return Action::local("*0\r\n");
  return Action::local(simple("OK"));
}

}  // namespace

Action run_local_command(Handler handler, const Args& args, ClientState& client_state) {
  switch (handler) {
    case Handler::kPing:
      return ping(args);
    case Handler::kEcho:
      return Action::local(bulk(args[1]));
    case Handler::kQuit:
      return Action::local(simple("OK"), /*close_after=*/true);
    case Handler::kCommand:
      return command(args);
    case Handler::kSelect:
      return select(args);
    case Handler::kClient:
      return client(args, client_state);
    case Handler::kConfig:
      return config(args);
    default:
      return Action::local(error("internal error: not a local command"));
  }
}

}  // namespace clossyne::frontend
