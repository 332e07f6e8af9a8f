// CONFIG GET's table, INFO's text and COMMAND's replies.
#include <catch2/catch.hpp>

#include "frontend/command_docs.hpp"
#include "frontend/command_table.hpp"
#include "frontend/config_table.hpp"
#include "frontend/info_format.hpp"

using namespace clossyne;
using namespace clossyne::frontend;

namespace {
// Concatenation by append (GCC 12 warns falsely about "literal" + std::string).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out.append(p);
  return out;
}
}  // namespace

TEST_CASE("CONFIG GET answers what redis-benchmark asks") {
  ServerInfo info;
  CHECK(config_get_reply(info, {"save"}) == "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  CHECK(config_get_reply(info, {"appendonly"}) == "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  CHECK(config_get_reply(info, {"nosuchthing"}) == "*0\r\n");
}

TEST_CASE("CONFIG GET globs, folds case, reports real settings, names each once") {
  ServerInfo info;
  info.max_clients = 77;
  info.max_value_bytes = 1000;
  info.query_buffer_limit = 5000;
  CHECK(config_get_reply(info, {"MAXCLIENTS"}) == "*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n");
  const std::string max = config_get_reply(info, {"max*"});
  CHECK(max.find("maxclients") != std::string::npos);
  CHECK(max.find("maxmemory\r\n$1\r\n0") != std::string::npos);
  CHECK(config_get_reply(info, {"proto-max-bulk-len"}).find("$4\r\n1000") != std::string::npos);
  CHECK(config_get_reply(info, {"client-query-buffer-limit"}).find("5000") != std::string::npos);
  CHECK(config_get_reply(info, {"maxclients", "max*"}) == config_get_reply(info, {"max*"}));
  CHECK(config_get_reply(info, {"databases"}) == "*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n");
}

TEST_CASE("INFO sections") {
  CHECK(info_sections({"INFO"}).size() == 10);
  CHECK(info_sections({"INFO", "all"}).size() == 12);  // + commandstats, latencystats
  CHECK(info_sections({"INFO", "default"}).size() == 10);
  CHECK(info_sections({"INFO", "latencystats", "commandstats"}) ==
        std::vector<std::string>{"commandstats", "latencystats"});
  CHECK(info_sections({"INFO", "CPU"}) == std::vector<std::string>{"cpu"});
  CHECK_FALSE(info_needs_cluster({"cpu"}));
  CHECK(info_sections({"INFO", "KEYSPACE", "server"}) ==
        std::vector<std::string>{"server", "keyspace"});
  CHECK(info_sections({"INFO", "nope"}).empty());
  CHECK(info_needs_cluster({"server", "keyspace"}));
  CHECK(info_needs_cluster({"memory"}));
  CHECK(info_needs_cluster({"persistence"}));
  CHECK_FALSE(info_needs_cluster({"server", "clients", "stats", "replication", "cluster"}));
}

TEST_CASE("INFO text is Redis-shaped with real figures") {
  InfoData d;
  d.server.port = 4297;
  d.server.start_ms = 1000;
  d.server.connected_clients = 3;
  d.server.max_clients = 10;
  d.server.total_commands = 42;
  d.server.total_connections = 5;
  d.server.rejected_connections = 1;
  d.now_ms = 62000;
  d.pid = 99;
  d.rss_bytes = 3 * 1024 * 1024;
  d.keys = 12;
  d.have_status = true;
  d.workers = {WorkerInfo{"w1", true, 7, 1, false}, WorkerInfo{"w2", false, 5, 1, true}};
  ShardInfo& s = d.shards.emplace_back();
  s.id = 2;
  s.lo.assign(1, 'm');
  s.owner.assign("w2");
  s.epoch = 3;
  s.keys = 5;
  s.bytes = 640;
  const std::string text = format_info(d, info_sections({"INFO"}));
  CHECK(text.rfind("# Server\r\nredis_version:7.0.0\r\n", 0) == 0);
  for (const char* line :
       {"\r\nprocess_id:99\r\n", "\r\ntcp_port:4297\r\n", "\r\nuptime_in_seconds:61\r\n",
        "\r\nconnected_clients:3\r\n", "\r\nmaxclients:10\r\n", "\r\nfrontend_rss:3145728\r\n",
        "\r\ntotal_commands_processed:42\r\n", "\r\ntotal_connections_received:5\r\n",
        "\r\nrejected_connections:1\r\n",
        "\r\n\r\n# Keyspace\r\ndb0:keys=12,expires=0,avg_ttl=0\r\n", "\r\ncluster_state:ok\r\n",
        "\r\nworkers:2\r\nworkers_alive:1\r\nworkers_persistent:0\r\nshards:1\r\n",
        "\r\nworker1:id=w2,alive=0,keys=5,shards=1,draining=1,bytes=0,rss=0,fsync=none\r\n",
        "\r\nshard0:id=2,lo=m,hi=+inf,owner=w2,epoch=3,keys=5,bytes=640\r\n"}) {
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("INFO memory and persistence are the live workers' sums") {
  InfoData d;
  d.rss_bytes = 9u << 20;  // the frontend's: not in used_memory
  d.have_status = true;
  WorkerInfo a{"w1", true, 10, 2, false};
  a.bytes = 3u << 20;
  a.rss = 20u << 20;
  a.persistent = true;
  a.fsync = "everysec";
  WorkerInfo b{"w2", true, 4, 1, false};
  b.bytes = 1u << 20;
  b.rss = 15u << 20;
  b.persistent = true;
  b.fsync = "always";
  WorkerInfo dead{"w3", false, 9, 1, false};  // its last figures are not counted
  dead.bytes = 100u << 20;
  dead.rss = 100u << 20;
  d.workers = {a, b, dead};
  const std::string text = format_info(d, {"memory", "persistence", "clossyne"});
  for (const char* line :
       {"# Memory\r\nused_memory:36700160\r\nused_memory_human:35.00M\r\n",
        "\r\nused_memory_rss:36700160\r\nused_memory_rss_human:35.00M\r\n",
        "\r\nused_memory_dataset:4194304\r\n", "# Persistence\r\nloading:0\r\naof_enabled:1\r\n",
        "\r\nfrontend_rss:9437184\r\n",
        "\r\nworkers:3\r\nworkers_alive:2\r\nworkers_persistent:2\r\n",
        "\r\nworker0:id=w1,alive=1,keys=10,shards=2,draining=0,bytes=3145728,rss=20971520,"
        "fsync=everysec\r\n",
        "\r\nworker1:id=w2,alive=1,keys=4,shards=1,draining=0,bytes=1048576,rss=15728640,"
        "fsync=always\r\n",
        "\r\nworker2:id=w3,alive=0,keys=9,shards=1,draining=0,bytes=104857600,rss=104857600,"
        "fsync=none\r\n"}) {
    CHECK(text.find(line) != std::string::npos);
  }

  // One live worker without --data-dir: the cluster does not persist every write.
  d.workers[1].persistent = false;
  d.workers[1].fsync.clear();
  CHECK(format_info(d, {"persistence"}) == "# Persistence\r\nloading:0\r\naof_enabled:0\r\n");
  // No live worker, or no status: nothing is kept, nothing is used.
  d.workers = {dead};
  CHECK(format_info(d, {"persistence"}) == "# Persistence\r\nloading:0\r\naof_enabled:0\r\n");
  d.have_status = false;
  d.workers = {a};
  CHECK(format_info(d, {"memory"}).find("\r\nused_memory:0\r\n") != std::string::npos);
  CHECK(format_info(d, {"persistence"}).find("aof_enabled:0") != std::string::npos);
}

TEST_CASE("INFO without the cluster says why and escapes odd bytes") {
  InfoData d;
  d.cluster_error = "ERR cluster not ready, x=1";
  const std::string text = format_info(d, {"keyspace", "clossyne"});
  CHECK(text ==
        "# Keyspace\r\n\r\n# Clossyne\r\ncluster_state:fail\r\n"
        "cluster_error:ERR\\x20cluster\\x20not\\x20ready\\x2c\\x20x\\x3d1\r\nfrontend_rss:0\r\n");
  CHECK(bytes_to_human(512) == "512B");
  CHECK(bytes_to_human(1536) == "1.50K");
}

TEST_CASE("COMMAND replies describe the table") {
  CHECK(command_reply({"COMMAND", "COUNT"}) ==
        cat({":", std::to_string(kCommandTable.size()), "\r\n"}));
  CHECK(command_reply({"command", "info", "get", "nope"}) ==
        "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
  CHECK(command_reply({"COMMAND", "DOCS", "get"}) ==
        "*2\r\n$3\r\nget\r\n*8\r\n$7\r\nsummary\r\n$34\r\nReturns the value of a key, or "
        "nil\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$9\r\narguments\r\n"
        "*1\r\n*4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n");
  const std::string scan = command_reply({"COMMAND", "DOCS", "scan"});
  CHECK(scan.find("$5\r\ntoken\r\n$5\r\nMATCH\r\n$5\r\nflags\r\n*1\r\n+optional\r\n") !=
        std::string::npos);
  CHECK(command_reply({"COMMAND", "DOCS"})
            .rfind(cat({"*", std::to_string(2 * kCommandTable.size())}), 0) == 0);
  CHECK(command_reply({"COMMAND", "bogus"}) ==
        "-ERR unknown subcommand 'bogus'. Try COMMAND HELP.\r\n");
}
