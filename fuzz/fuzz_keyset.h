// File: fuzz/fuzz_keyset.h
//
// The fixed keyset the envelope fuzzer opens with; fuzz/make-seeds.sh seals
// the seed corpus with the same keys (fuzz/fuzz_keyset.json).
#ifndef CUSTOS_FUZZ_FUZZ_KEYSET_H_
#define CUSTOS_FUZZ_FUZZ_KEYSET_H_

namespace custos::fuzz {

inline constexpr char kFuzzKeysetJson[] = R"({
  "version": 1,
  "primary_key_id": 1,
  "keys": [
    {"key_id": 1, "algorithm": "ascon-aead128", "status": "enabled", "key": "000102030405060708090a0b0c0d0e0f"},
    {"key_id": 2, "algorithm": "gift-cofb", "status": "enabled", "key": "101112131415161718191a1b1c1d1e1f"},
    {"key_id": 3, "algorithm": "grain128-aead-v2", "status": "enabled", "key": "202122232425262728292a2b2c2d2e2f"},
    {"key_id": 4, "algorithm": "photon-beetle-aead128", "status": "enabled", "key": "303132333435363738393a3b3c3d3e3f"},
    {"key_id": 5, "algorithm": "aes128-gcm", "status": "enabled", "key": "404142434445464748494a4b4c4d4e4f"},
    {"key_id": 6, "algorithm": "chacha20-poly1305", "status": "enabled", "key": "505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f"},
    {"key_id": 7, "algorithm": "ascon-aead128", "status": "disabled", "key": "707172737475767778797a7b7c7d7e7f"}
  ]
}
)";

}  // namespace custos::fuzz

#endif  // CUSTOS_FUZZ_FUZZ_KEYSET_H_
