// The ACL file (a subset of Redis's syntax) and the password digests.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "frontend/acl.hpp"
#include "frontend/auth.hpp"
#include "frontend/password.hpp"

using namespace clossyne::frontend;

TEST_CASE("acl file: users, passwords, patterns and categories are loaded") {
  AclStore acl;
  const auto err = acl.load_text(
      "# users of the test\n"
      "\n"
      "user default on >adminpw ~* &* +@all\n"
      "user ro on >ro1 >ro2 ~* +@read\r\n"
      "user app on nopass ~app:* -@all +get +set\n"
      "user gone off >x allkeys +@all\n",
      "users.acl");
  REQUIRE_FALSE(err);
  CHECK(acl.names() == std::vector<std::string>{"app", "default", "gone", "ro"});
  CHECK(acl.auth_required());
  CHECK(acl.authenticate("ro", "ro1"));
  CHECK(acl.authenticate("ro", "ro2"));
  CHECK_FALSE(acl.authenticate("ro", "ro3"));
  CHECK_FALSE(acl.authenticate("gone", "x"));  // off
  CHECK_FALSE(acl.authenticate("nobody", "x"));
  CHECK(acl.authenticate("app", "anything"));  // nopass
  const AclUser& app = *acl.find("app");
  CHECK(!check_permission(app, *find_command("set"), {"set", "app:1", "v"}));
  CHECK(check_permission(app, *find_command("set"), {"set", "x", "v"}) == std::string(kNoPermKey));
  CHECK(check_permission(app, *find_command("del"), {"del", "app:1"}));
  CHECK(AclStore::describe(app) == "user app on nopass ~app:* resetchannels -@all +get +set");
}

TEST_CASE("acl file: without a default user line the default user needs no password") {
  AclStore acl;
  REQUIRE_FALSE(acl.load_text("user a on >p ~* +@all\n", "f"));
  CHECK_FALSE(acl.auth_required());
  CHECK(AclStore::describe(*acl.default_user()) == "user default on nopass ~* &* +@all");
}

TEST_CASE("acl file: an error names the file and line and changes nothing") {
  AclStore acl;
  REQUIRE_FALSE(acl.set_user("keep", {"on", "nopass"}));
  CHECK(acl.load_text("user a on\nuser b on +@nosuch\n", "f.acl") ==
        std::string("f.acl:2: Error in applying operation '+@nosuch': Unknown command or category "
                    "name in ACL"));
  CHECK(acl.load_text("usr a on\n", "f.acl") ==
        std::string("f.acl:1: line should start with user keyword"));
  CHECK(acl.load_text("user a on\nuser a off\n", "f.acl") ==
        std::string("f.acl:2: duplicate user 'a' found"));
  CHECK(acl.find("keep"));
  CHECK_FALSE(acl.find("a"));
}

TEST_CASE("acl file: --aclfile and --requirepass load through load_auth") {
  const std::string path = "test_auth_acl_file.tmp.acl";
  {
    std::ofstream out(path);
    out << "user ro on >r ~* +@read\n";
  }
  AuthConfig cfg;
  cfg.aclfile = path;
  cfg.requirepass = "pw";
  Auth auth;
  ServerInfo info;
  REQUIRE(load_auth(cfg, auth, info).ok());
  CHECK(auth.acl.auth_required());
  CHECK(auth.acl.authenticate("default", "pw"));
  CHECK(auth.acl.authenticate("ro", "r"));
  CHECK(info.requirepass_set);
  cfg.aclfile = "/nonexistent/users.acl";
  Auth other;
  CHECK_FALSE(load_auth(cfg, other, info).ok());
  std::remove(path.c_str());
}

TEST_CASE("password: SHA-256 digests as Redis stores them, compared in constant time") {
  const PasswordDigest d = password_digest("x");
  CHECK(digest_hex(d) == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  CHECK(digest_from_hex(digest_hex(d)) == d);
  CHECK_FALSE(digest_from_hex("2D711642"));
  CHECK_FALSE(digest_from_hex(std::string(64, 'g')));
  CHECK(digests_equal(d, password_digest("x")));
  PasswordDigest last = d;
  last[31] ^= 1;
  CHECK_FALSE(digests_equal(d, last));
  CHECK_FALSE(digests_equal(d, password_digest("")));
}
