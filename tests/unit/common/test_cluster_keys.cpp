#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/cluster_keys.hpp"

using namespace clossyne;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path p = fs::temp_directory_path() / ("clossyne-keys-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(std::random_device{}()));
  fs::remove_all(p);
  return p;
}
void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}
}  // namespace

TEST_CASE("keygen writes every pair, secret files 0600, and the authorized list") {
  const fs::path dir = temp_dir();
  REQUIRE(write_cluster_keys(dir.string(), {"w7"}).ok());
  for (const char* base : {"broker", "worker", "client", "admin", "workers/w7"}) {
    CurveKeyPair pair;
    REQUIRE(read_secret_key((dir / (std::string(base) + ".key")).string(), pair).ok());
    std::string pub;
    REQUIRE(read_public_key((dir / (std::string(base) + ".pub")).string(), pub).ok());
    CHECK(pair.public_key == pub);  // the .pub matches the key derived from the secret
    struct stat st {};
    REQUIRE(::stat((dir / (std::string(base) + ".key")).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  AuthorizedKeys auth;
  REQUIRE(read_authorized_keys((dir / "authorized_keys").string(), auth).ok());
  CHECK(auth.size() == 4);  // worker, client, admin, workers/w7: never the broker's own
  CurveKeyPair admin, broker, w7;
  REQUIRE(read_secret_key((dir / "admin.key").string(), admin).ok());
  REQUIRE(read_secret_key((dir / "broker.key").string(), broker).ok());
  REQUIRE(read_secret_key((dir / "workers/w7.key").string(), w7).ok());
  CHECK(auth.at(admin.public_key) == BusRole::kAdmin);
  CHECK(auth.at(w7.public_key) == BusRole::kWorker);
  CHECK(auth.count(broker.public_key) == 0);

  SECTION("a second keygen never overwrites a key") {
    const Status st = write_cluster_keys(dir.string(), {});
    CHECK_FALSE(st.ok());
    CurveKeyPair again;
    REQUIRE(read_secret_key((dir / "admin.key").string(), again).ok());
    CHECK(again.secret_key == admin.secret_key);
  }
  SECTION("load_client_keys picks the role's key, a worker's own key when it has one") {
    CurveClientKeys k;
    REQUIRE(load_client_keys(dir.string(), BusRole::kAdmin, k).ok());
    CHECK(k.own.public_key == admin.public_key);
    CHECK(k.server_key == broker.public_key);
    REQUIRE(load_client_keys(dir.string(), BusRole::kWorker, k, "w7").ok());
    CHECK(k.own.public_key == w7.public_key);
    REQUIRE(load_client_keys(dir.string(), BusRole::kWorker, k, "w1").ok());
    CHECK(auth.at(k.own.public_key) == BusRole::kWorker);
    CHECK(k.own.public_key != w7.public_key);  // the shared worker.key
  }
  SECTION("load_server_keys") {
    CurveKeyPair b;
    AuthorizedKeys a;
    REQUIRE(load_server_keys(dir.string(), b, a).ok());
    CHECK(b.public_key == broker.public_key);
    CHECK(a == auth);
  }
  fs::remove_all(dir);
}

TEST_CASE("key files: whitespace around the key is fine, anything else is refused") {
  const fs::path dir = temp_dir();
  fs::create_directories(dir);
  const CurveKeyPair pair = make_key_pair();
  write(dir / "ok.key", "  " + pair.secret_key + "\r\n\n");
  CurveKeyPair read;
  REQUIRE(read_secret_key((dir / "ok.key").string(), read).ok());
  CHECK(read.public_key == pair.public_key);
  write(dir / "short.key", pair.secret_key.substr(0, 39));
  CHECK_FALSE(read_secret_key((dir / "short.key").string(), read).ok());
  write(dir / "bad.key", std::string(40, '~'));  // '~' is not a Z85 character
  CHECK_FALSE(read_secret_key((dir / "bad.key").string(), read).ok());
  const Status missing = read_secret_key((dir / "none.key").string(), read);
  CHECK_FALSE(missing.ok());
  CHECK(missing.message().find("none.key") != std::string::npos);
  CurveClientKeys k;
  CHECK_FALSE(load_client_keys(dir.string(), BusRole::kClient, k).ok());
  fs::remove_all(dir);
}

TEST_CASE("authorized_keys: roles, labels, comments, errors name the line") {
  const std::string a = make_key_pair().public_key, b = make_key_pair().public_key;
  AuthorizedKeys keys;
  REQUIRE(
      parse_authorized_keys("# comment\n\nworker " + a + " w1\n  client " + b + "\n", keys).ok());
  CHECK(keys.size() == 2);
  CHECK(keys.at(a) == BusRole::kWorker);
  CHECK(keys.at(b) == BusRole::kClient);
  AuthorizedKeys bad;
  Status st = parse_authorized_keys("admin " + a + "\nroot " + b + "\n", bad);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("line 2") != std::string::npos);
  CHECK_FALSE(parse_authorized_keys("admin\n", bad).ok());
  CHECK_FALSE(parse_authorized_keys("admin abc\n", bad).ok());
  // '#' is a Z85 character: in a key it starts no comment.
  std::string hashed;
  for (int i = 0; i < 10000 && hashed.find('#') == std::string::npos; ++i)
    hashed = make_key_pair().public_key;  // about 1 key in 3 has one
  REQUIRE(hashed.find('#') != std::string::npos);
  AuthorizedKeys h;
  REQUIRE(parse_authorized_keys("admin " + hashed + "\n", h).ok());
  CHECK(h.count(hashed) == 1);
}

TEST_CASE("roles by name") {
  for (BusRole r : {BusRole::kWorker, BusRole::kClient, BusRole::kAdmin})
    CHECK(parse_role(role_name(r)) == r);
  CHECK_FALSE(parse_role("root").has_value());
  CHECK_FALSE(parse_role("").has_value());
}
