// AUTH, HELLO AUTH, ACL and the command gate, through handle_request as a connection runs them;
// replies compared with what redis-server 7.0.15 answers.
#include <catch2/catch.hpp>

#include "frontend/auth.hpp"
#include "frontend/commands.hpp"

using namespace clossyne::frontend;

namespace {

// One connection to a server with the given settings.
struct Session {
  explicit Session(AuthConfig cfg = {}, std::string addr = "127.0.0.1:5000") {
    client.addr = std::move(addr);
    REQUIRE(load_auth(cfg, auth, server).ok());
    denied = admit_client(client, auth);
  }

  std::string run(std::vector<std::string> words, Dialect d = Dialect::kResp) {
    Request r;
    r.dialect = d;
    r.args = std::move(words);
    if (d == Dialect::kSeed) r.eol = Eol::kLf;
    CommandContext ctx{client, server, cursors, &auth};
    Action a = handle_request(r, ctx);
    last_kind = a.kind;
    last_close = a.close_after;
    return a.kind == Action::Kind::kLocal ? a.bytes : "(cluster)";
  }

  ClientState client;
  ServerInfo server;
  CursorTable cursors;
  Auth auth;
  std::optional<std::string> denied;
  Action::Kind last_kind = Action::Kind::kLocal;
  bool last_close = false;
};

AuthConfig with_password(std::string pass) {
  AuthConfig c;
  c.requirepass = std::move(pass);
  return c;
}

constexpr std::string_view kNoAuth = "-NOAUTH Authentication required.\r\n";
constexpr std::string_view kWrongPass =
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

}  // namespace

TEST_CASE("auth: without a password every command runs and AUTH says none is set") {
  Session s;
  CHECK(s.run({"GET", "k"}) == "(cluster)");
  CHECK(s.run({"AUTH", "x"}) ==
        "-ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?\r\n");
  CHECK(s.run({"AUTH", "default", "x"}) == "+OK\r\n");  // nopass: any password
  CHECK(s.run({"ACL", "WHOAMI"}) == "$7\r\ndefault\r\n");
  CHECK(s.run({"SET:k v"}, Dialect::kSeed) != "");
}

TEST_CASE("auth: NOAUTH before AUTH, WRONGPASS on a bad one, then the commands run") {
  Session s(with_password("sekret"));
  CHECK(s.run({"GET", "k"}) == kNoAuth);
  CHECK(s.run({"PING"}) == kNoAuth);
  CHECK(s.run({"foo"}).rfind("-ERR unknown command 'foo'", 0) == 0);  // lookup comes first
  CHECK(s.run({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(s.run({"AUTH", "nope"}) == kWrongPass);
  CHECK(s.run({"AUTH", "default", "nope"}) == kWrongPass);
  CHECK(s.run({"AUTH", "a", "b", "c"}) == "-ERR syntax error\r\n");
  CHECK(s.run({"GET", "k"}) == kNoAuth);
  CHECK(s.run({"AUTH", "sekret"}) == "+OK\r\n");
  CHECK(s.run({"GET", "k"}) == "(cluster)");
  CHECK(s.run({"QUIT"}) == "+OK\r\n");
  CHECK(s.last_close);
}

TEST_CASE("auth: HELLO 2 AUTH user pass authenticates, plain HELLO is refused before it") {
  Session s(with_password("pw"));
  CHECK(s.run({"HELLO", "2"})
            .rfind("-NOAUTH HELLO must be called with the client already "
                   "authenticated, otherwise the HELLO AUTH <user> <pass>",
                   0) == 0);
  CHECK(s.run({"HELLO", "2", "AUTH", "default", "bad"}) == kWrongPass);
  CHECK(s.run({"HELLO", "2", "AUTH", "default"}) == "-ERR Syntax error in HELLO option 'AUTH'\r\n");
  CHECK(s.run({"HELLO", "2", "AUTH", "default", "pw", "SETNAME", "me"}).rfind("*14\r\n", 0) == 0);
  CHECK(s.client.name == "me");
  CHECK(s.run({"GET", "k"}) == "(cluster)");
}

TEST_CASE("auth: a read-only user is refused a write with Redis 7.0's NOPERM text") {
  Session s(with_password("pw"));
  REQUIRE(s.run({"AUTH", "pw"}) == "+OK\r\n");
  CHECK(s.run({"ACL", "SETUSER", "ro", "on", ">ropw", "~*", "+@read"}) == "+OK\r\n");
  CHECK(s.run({"AUTH", "ro", "ropw"}) == "+OK\r\n");
  CHECK(s.run({"ACL", "WHOAMI"}) ==
        "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
  CHECK(s.run({"SET", "k", "v"}) ==
        "-NOPERM this user has no permissions to run the 'set' command\r\n");
  CHECK(s.run({"DEL", "k"}) == "-NOPERM this user has no permissions to run the 'del' command\r\n");
  CHECK(s.run({"GET", "k"}) == "(cluster)");
  CHECK(s.run({"MGET", "a", "b"}) == "(cluster)");
  // Redis's no-auth commands stay open to it.
  CHECK(s.run({"AUTH", "default", "pw"}) == "+OK\r\n");
}

TEST_CASE("auth: a key-pattern user is refused keys outside its patterns, every key checked") {
  Session s(with_password("pw"));
  REQUIRE(s.run({"AUTH", "pw"}) == "+OK\r\n");
  REQUIRE(s.run({"ACL", "SETUSER", "app", "on", ">apw", "~app:*", "~cache:*", "+@all"}) ==
          "+OK\r\n");
  REQUIRE(s.run({"AUTH", "app", "apw"}) == "+OK\r\n");
  const std::string key_err =
      "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
  CHECK(s.run({"SET", "app:1", "v"}) == "(cluster)");
  CHECK(s.run({"GET", "cache:x"}) == "(cluster)");
  CHECK(s.run({"GET", "other"}) == key_err);
  CHECK(s.run({"MGET", "app:1", "other"}) == key_err);
  CHECK(s.run({"MSET", "app:1", "other", "app:2", "v"}) == "(cluster)");  // values are no keys
  CHECK(s.run({"MSET", "app:1", "v", "other", "v"}) == key_err);
  CHECK(s.run({"RENAME", "app:1", "elsewhere"}) == key_err);
  CHECK(s.run({"RNG", "app:", "app:~"}) == key_err);  // a range reaches keys outside
  CHECK(s.run({"DBSIZE"}) == "(cluster)");
  // The seed dialect needs a user with every key.
  CHECK(s.run({"GET", "app:1"}, Dialect::kSeed).rfind("-NOAUTH", 0) == 0);
}

TEST_CASE("auth: categories and single commands combine in order") {
  AclStore acl;
  REQUIRE_FALSE(acl.set_user("u", {"on", "nopass", "allkeys", "+@all", "-@dangerous", "-set"}));
  const AclUser& u = *acl.find("u");
  const auto allowed = [&](std::vector<std::string> args) {
    return !check_permission(u, *find_command(args[0]), args).has_value();
  };
  CHECK(allowed({"get", "k"}));
  CHECK_FALSE(allowed({"set", "k", "v"}));
  CHECK_FALSE(allowed({"keys", "*"}));
  CHECK_FALSE(allowed({"flushall"}));
  CHECK(allowed({"incr", "k"}));
  // ACL's own subcommands are in Redis's categories: WHOAMI and CAT are @slow, the rest @admin.
  CHECK(allowed({"acl", "whoami"}));
  CHECK(allowed({"acl", "cat"}));
  CHECK_FALSE(allowed({"acl", "list"}));
  CHECK_FALSE(allowed({"acl", "setuser", "x"}));
  CHECK(AclStore::describe(u) == "user u on nopass ~* resetchannels +@all -@dangerous -set");
  REQUIRE_FALSE(acl.set_user("w", {"on", "nopass", "allkeys", "-@all", "+@write", "-@dangerous"}));
  const AclUser& w = *acl.find("w");
  CHECK(!check_permission(w, *find_command("set"), {"set", "k", "v"}));
  CHECK(check_permission(w, *find_command("get"), {"get", "k"}));
  CHECK(check_permission(w, *find_command("flushdb"), {"flushdb"}));
  CHECK(check_permission(w, *find_command("acl"), {"acl", "whoami"}));
  REQUIRE_FALSE(acl.set_user("s", {"on", "nopass", "-@all", "+@slow", "-acl"}));
  CHECK(check_permission(*acl.find("s"), *find_command("acl"), {"acl", "whoami"}));
  REQUIRE_FALSE(acl.set_user("s", {"+@slow"}));
  CHECK(!check_permission(*acl.find("s"), *find_command("acl"), {"acl", "whoami"}));
}

TEST_CASE(
    "auth: CLIENT LIST needs @admin (or +client), as in Redis; CLIENT's other subcommands do not") {
  AclStore acl;
  REQUIRE_FALSE(acl.set_user("u", {"on", "nopass", "allkeys", "+@all", "-@admin"}));
  const auto allowed = [&](const char* user, std::vector<std::string> args) {
    return !check_permission(*acl.find(user), *find_command(args[0]), args).has_value();
  };
  CHECK_FALSE(allowed("u", {"client", "list"}));
  CHECK(allowed("u", {"client", "setname", "n"}));
  CHECK(allowed("u", {"client", "info"}));
  CHECK(check_permission(*acl.find("u"), *find_command("client"), {"client", "list"}).value() ==
        "NOPERM this user has no permissions to run the 'client|list' command");
  REQUIRE_FALSE(acl.set_user("u", {"+client"}));
  CHECK(allowed("u", {"client", "list"}));
  REQUIRE_FALSE(acl.set_user("a", {"on", "nopass", "-@all", "+@connection", "+@admin"}));
  CHECK(allowed("a", {"client", "list"}));
  CHECK(allowed("default", {"client", "list"}));
}

TEST_CASE("auth: ACL SETUSER errors as Redis words them and leave the user unchanged") {
  Session s;
  CHECK(s.run({"ACL", "SETUSER", "z", "+foo"}) ==
        "-ERR Error in ACL SETUSER modifier '+foo': Unknown command or category name in ACL\r\n");
  CHECK(s.run({"ACL", "SETUSER", "z", "on", "bogus"}) ==
        "-ERR Error in ACL SETUSER modifier 'bogus': Syntax error\r\n");
  CHECK(s.run({"ACL", "USERS"}) == "*1\r\n$7\r\ndefault\r\n");  // z was not created
  CHECK(s.run({"ACL", "SETUSER", "z", "#abc"})
            .rfind("-ERR Error in ACL SETUSER modifier '#abc': "
                   "The password hash must be exactly 64",
                   0) == 0);
  CHECK(s.run({"ACL", "SETUSER", "k", "allkeys", "~a*"}).find("Adding a pattern after the *") !=
        std::string::npos);
  CHECK(s.run({"ACL", "SETUSER"}) ==
        "-ERR wrong number of arguments for 'acl|setuser' command\r\n");
  CHECK(s.run({"ACL", "WHOAMI", "x"}) ==
        "-ERR wrong number of arguments for 'acl|whoami' command\r\n");
  CHECK(s.run({"ACL", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try ACL HELP.\r\n");
  CHECK(s.run({"ACL", "DELUSER", "default"}) == "-ERR The 'default' user cannot be removed\r\n");
}

TEST_CASE("auth: ACL LIST shows digests, never passwords, as Redis 7.0 lists users") {
  Session s(with_password("x"));
  REQUIRE(s.run({"AUTH", "x"}) == "+OK\r\n");
  REQUIRE(s.run({"ACL", "SETUSER", "ro", "on", ">p", "~foo*", "+@read"}) == "+OK\r\n");
  const std::string list = s.run({"ACL", "LIST"});
  // Digests as redis-server 7.0.15 lists them for these passwords.
  CHECK(
      list.find("user default on "
                "#2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~* &* +@all") !=
      std::string::npos);
  CHECK(list.find("user ro on #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 "
                  "~foo* resetchannels -@all +@read") != std::string::npos);
  CHECK(list.find(">p") == std::string::npos);
}

TEST_CASE("auth: ACL DELUSER closes the deleted user's connection on its next command") {
  Session admin(with_password("x"));
  REQUIRE(admin.run({"AUTH", "x"}) == "+OK\r\n");
  REQUIRE(admin.run({"ACL", "SETUSER", "tmp", "on", ">t", "~*", "+@all"}) == "+OK\r\n");
  ClientState other;
  other.addr = "127.0.0.1:1";
  REQUIRE_FALSE(admit_client(other, admin.auth));
  CommandContext ctx{other, admin.server, admin.cursors, &admin.auth};
  REQUIRE(!hello_auth("tmp", "t", ctx));
  CHECK(admin.run({"ACL", "DELUSER", "tmp", "nobody"}) == ":1\r\n");
  Request r;
  r.args = {"GET", "k"};
  const Action a = handle_request(r, ctx);
  CHECK(a.close_after);
  CHECK(admin.run({"AUTH", "tmp", "t"}) == kWrongPass);
}

TEST_CASE("auth: an off user cannot authenticate") {
  Session s(with_password("x"));
  REQUIRE(s.run({"AUTH", "x"}) == "+OK\r\n");
  REQUIRE(s.run({"ACL", "SETUSER", "off1", "off", ">q", "+@all", "~*"}) == "+OK\r\n");
  CHECK(s.run({"AUTH", "off1", "q"}) == kWrongPass);
  REQUIRE(s.run({"ACL", "SETUSER", "off1", "on"}) == "+OK\r\n");
  CHECK(s.run({"AUTH", "off1", "q"}) == "+OK\r\n");
}

TEST_CASE(
    "auth: protected mode refuses non-loopback clients while the default user has no "
    "password") {
  Session remote({}, "10.1.2.3:4000");
  REQUIRE(remote.denied);
  CHECK(remote.denied->rfind("-DENIED Redis is running in protected mode", 0) == 0);
  CHECK(*remote.denied == kProtectedModeError);
  CHECK(!Session({}, "127.0.0.1:4000").denied);
  CHECK(!Session({}, "[::1]:4000").denied);
  CHECK(!Session(with_password("x"), "10.1.2.3:4000").denied);
  AuthConfig off;
  off.protected_mode = false;
  CHECK(!Session(off, "10.1.2.3:4000").denied);
  CHECK(Session({}, "127.0.0.2:4000").denied);  // as Redis 7.0: only 127.0.0.1 and ::1
  CHECK(is_loopback_address("::ffff:127.0.0.1:9"));
  CHECK_FALSE(is_loopback_address("::ffff:10.0.0.1:9"));
}

TEST_CASE("auth: the seed dialect is refused with a password, unless from loopback when allowed") {
  Session s(with_password("x"));
  const std::string refused = s.run({"SET", "k v"}, Dialect::kSeed);
  CHECK(refused ==
        "-NOAUTH the Clossyne dialect has no AUTH and a password is set: use RESP and "
        "AUTH\n");
  CHECK(s.run({"EXT", ""}, Dialect::kSeed).empty());  // exit stays allowed
  REQUIRE(s.run({"AUTH", "x"}) == "+OK\r\n");
  CHECK(s.run({"SET", "k v"}, Dialect::kSeed) == "(cluster)");  // authenticated over RESP

  AuthConfig allow = with_password("x");
  allow.seed_loopback = true;
  CHECK(Session(allow, "127.0.0.1:1").run({"SET", "k v"}, Dialect::kSeed) == "(cluster)");
  CHECK(Session(allow, "10.0.0.1:1").run({"SET", "k v"}, Dialect::kSeed).rfind("-NOAUTH", 0) == 0);
}

TEST_CASE("auth: CONFIG GET never shows the password") {
  Session s(with_password("topsecret"));
  REQUIRE(s.run({"AUTH", "topsecret"}) == "+OK\r\n");
  const std::string all = s.run({"CONFIG", "GET", "*"});
  CHECK(all.find("topsecret") == std::string::npos);
  CHECK(s.run({"CONFIG", "GET", "requirepass"}) ==
        "*2\r\n$11\r\nrequirepass\r\n$8\r\n(hidden)\r\n");
  CHECK(s.run({"CONFIG", "GET", "protected-mode"}) ==
        "*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n");
}

TEST_CASE("auth: ACL GETUSER answers Redis 7.0's shape, digests only, and nil for no such user") {
  Session s(with_password("x"));
  REQUIRE(s.run({"AUTH", "x"}) == "+OK\r\n");
  REQUIRE(s.run({"ACL", "SETUSER", "bob", "on", "nopass", "~a*", "~b*", "resetchannels", "&x"}) ==
          "+OK\r\n");
  // Byte for byte what redis-server 7.0.15 answers for the same ACL SETUSER.
  CHECK(s.run({"ACL", "GETUSER", "bob"}) ==
        "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n"
        "$8\r\ncommands\r\n$5\r\n-@all\r\n$4\r\nkeys\r\n$7\r\n~a* ~b*\r\n$8\r\nchannels\r\n"
        "$2\r\n&x\r\n$9\r\nselectors\r\n*0\r\n");
  REQUIRE(s.run({"ACL", "SETUSER", "ro", "on", ">p", "~foo*", "+@read"}) == "+OK\r\n");
  const std::string ro = s.run({"ACL", "GETUSER", "ro"});
  CHECK(ro.find("$64\r\n148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940\r\n") !=
        std::string::npos);
  CHECK(ro.find("-@all +@read") != std::string::npos);
  CHECK(ro.find("$1\r\np\r\n") == std::string::npos);  // never the password itself
  CHECK(s.run({"ACL", "GETUSER", "nobody"}) == "$-1\r\n");
  CHECK(s.run({"ACL", "GETUSER"}) ==
        "-ERR wrong number of arguments for 'acl|getuser' command\r\n");
}

TEST_CASE("auth: ACL GENPASS gives fresh hex passwords of the asked bits") {
  Session s;
  const std::string a = s.run({"ACL", "GENPASS"}), b = s.run({"ACL", "GENPASS"});
  REQUIRE(a.rfind("$64\r\n", 0) == 0);
  CHECK(a.find_first_not_of("0123456789abcdef", 5) == a.size() - 2);
  CHECK(a != b);
  CHECK(s.run({"ACL", "GENPASS", "5"}).rfind("$2\r\n", 0) == 0);
  CHECK(s.run({"ACL", "GENPASS", "0"}).rfind("-ERR ACL GENPASS argument must be", 0) == 0);
  CHECK(s.run({"ACL", "GENPASS", "abc"}) == "-ERR value is not an integer or out of range\r\n");
}
