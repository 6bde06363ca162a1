// kTestOnions: nine valid v3 onion names for tests, of fixed keys (bytes
// 32i..32i+31): base32 of key || SHA3-256(".onion checksum" || key ||
// 0x03)[:2] || 0x03 (rend-spec-v3), so mail::IsV3OnionDomain accepts them.
#pragma once

#include <string>
#include <vector>

namespace onionmail::mail {

inline const std::vector<std::string> kTestOnions = {
    "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion",
    "eaqseizeeutcokbjfivsyljof4ydcmrtgq2tmnzyhe5dwpb5hy74yhqd.onion",
    "ibaueq2eivdeoscjjjfuytkoj5ifcustkrkvmv2ylfnfwxc5lzp26mqd.onion",
    "mbqwey3emvtgo2djnjvwy3lon5yhc4ttor2xm53ypf5hw7d5pz7vykqd.onion",
    "qcayfa4eqwdipcejrkfyzdmor6ijdeutsskznf4ytgnjxhe5t2pqncqd.onion",
    "ucq2fi5euwtkpkfjvkv2zlnov6yldmvtws23nn5yxg5lxpf5x275dlqd.onion",
    "yda4fq6eyxdmpsgjzlf4ztooz7induwt2tk5nv6y3hnnxxg533p3xdyd.onion",
    "4dq6fy7e4xtop2hj5lv6z3po57ypd4xt6t27n57y7h5px7h57376fead.onion",
    "ha5t4qkei5fe2uctkzmvyx3cmvugw3tror3xu7maqoditdepskkwyxad.onion",
};

}  // namespace onionmail::mail
