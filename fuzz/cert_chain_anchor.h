// The fixed trust anchor of cert_chain_fuzzer: a P-256 root made once with the
// openssl command line. fuzz/make-seeds.sh signs the seed chains with its key,
// fuzz/cert_chain_anchor.key.pem (a test key that protects nothing).
#ifndef CUSTOS_FUZZ_CERT_CHAIN_ANCHOR_H_
#define CUSTOS_FUZZ_CERT_CHAIN_ANCHOR_H_

inline constexpr char kCertChainAnchorPem[] = R"(
-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIUBH5oHo3JVYI39ICY62P8jc+4AlMwCgYIKoZIzj0EAwIw
LDEUMBIGA1UECgwLY3VzdG9zIGZ1enoxFDASBgNVBAMMC0Z1enogQW5jaG9yMCAX
DTI2MTEyNTEyMjQwOFoYDzIxMjYxMTAxMTIyNDA4WjAsMRQwEgYDVQQKDAtjdXN0
b3MgZnV6ejEUMBIGA1UEAwwLRnV6eiBBbmNob3IwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASUvKuvhZYwXzb0816qu/ezXDOjroGReFSl6MIp2BLoeR3qJVixeR5u
xaEkHGUo2odS2NlKKh+UIOkoLALJ2ZLHo2MwYTAdBgNVHQ4EFgQU/HhH4IYTknd0
ENjfuMCMh0MHYJIwHwYDVR0jBBgwFoAU/HhH4IYTknd0ENjfuMCMh0MHYJIwDwYD
VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSAAwRQIg
ERg/NODg85kYP+aIomvtBTR94qLJWcStqrO7uhBJF90CIQCv6470IM6OiTNDb57k
5mophuJ9DFfZfhDnraitIjwy7w==
-----END CERTIFICATE-----
)";

#endif  // CUSTOS_FUZZ_CERT_CHAIN_ANCHOR_H_
