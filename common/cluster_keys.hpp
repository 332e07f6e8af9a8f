// CurveZMQ keys of a cluster (clossyne-admin keygen, --cluster-keys DIR): every bus connection is
// encrypted and its client authenticated by the broker's ZAP handler (broker/zap_handler.cpp).
// The layout of DIR (docs/SECURITY.md, "The bus"):
//   broker.key broker.pub        the broker's pair (every process needs broker.pub)
//   worker.key worker.pub        the workers' shared pair
//   workers/ID.key ID.pub        optional per-worker pairs (keygen --worker ID): used instead of
//                                worker.key by the worker started with --id ID
//   client.key client.pub        frontends and client scripts: data ops and `status`
//   admin.key  admin.pub         clossyne-admin: operator commands too
//   authorized_keys              the broker's list: "ROLE Z85-PUBLIC-KEY [LABEL]" lines; lines
//                                starting with '#' are comments ('#' is also a Z85 character)
// Key files hold one Z85 key (40 characters) and a newline; a .key file holds the secret key only
// (mode 0600), its public key is derived from it.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/status.hpp"

namespace clossyne {

// A peer's role on the bus: what the broker lets it do (and the ZAP "user id" it gets).
enum class BusRole { kWorker, kClient, kAdmin };
const char* role_name(BusRole role);
std::optional<BusRole> parse_role(std::string_view name);

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// A new key pair from libzmq (zmq_curve_keypair).
CurveKeyPair make_key_pair();

// True for a well-formed Z85 CURVE key (40 characters that decode to 32 bytes).
bool valid_z85_key(std::string_view key);

// Reads a secret key file and derives its public key.
Status read_secret_key(const std::string& path, CurveKeyPair& out);
Status read_public_key(const std::string& path, std::string& out);

// Authorized public keys (Z85) and their roles.
using AuthorizedKeys = std::unordered_map<std::string, BusRole>;
// Parses authorized_keys text; errors name the line.
Status parse_authorized_keys(std::string_view text, AuthorizedKeys& out);
Status read_authorized_keys(const std::string& path, AuthorizedKeys& out);

// What a connecting process needs: its own pair and the broker's public key.
struct CurveClientKeys {
  CurveKeyPair own;
  std::string server_key;
};
// Loads DIR/<role>.key and DIR/broker.pub. A worker with id `worker_id` uses
// DIR/workers/<worker_id>.key when it exists.
Status load_client_keys(const std::string& dir, BusRole role, CurveClientKeys& out,
                        const std::string& worker_id = "");
// The broker's pair and its list: DIR/broker.key, DIR/authorized_keys.
Status load_server_keys(const std::string& dir, CurveKeyPair& out, AuthorizedKeys& authorized);

// Makes a socket a CURVE client (before connect).
void set_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys);
// Makes a socket a CURVE server whose handshakes the ZAP handler sees under `domain` (before bind).
void set_curve_server(zmq::socket_t& socket, const CurveKeyPair& keys, const std::string& domain);

// Writes a new cluster's keys into `dir` (created if missing), with per-worker pairs for
// `worker_ids`. Refuses to overwrite an existing key file: old secrets are never lost by mistake.
Status write_cluster_keys(const std::string& dir, const std::vector<std::string>& worker_ids);

// The --cluster-keys default: $CLOSSYNE_CLUSTER_KEYS, or "".
std::string cluster_keys_from_env();

// True when `dir` holds a whole cluster's keys (what write_cluster_keys writes without --worker):
// keygen --keep-existing then leaves them alone.
bool cluster_keys_present(const std::string& dir);

}  // namespace clossyne
