#!/usr/bin/env bash
# Writes the seeds of csr_parse and cert_chain into CORPUS/<name>/ with the
# openssl command line (called by fuzz/make-seeds.sh; needs only openssl).
#   fuzz/make-identity-seeds.sh [fuzz/corpus]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-fuzz/corpus}
mkdir -p "$CORPUS"/{csr_parse,cert_chain}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

# csr_parse: requests as a device makes them (DER and PEM, P-256 and
# Ed25519), one naming two devices, one with an RSA key.
openssl req -new "${ec[@]}" -keyout "$tmp/k1" -subj "/O=acme/CN=dev-0001" \
  -addext "subjectAltName=URI:urn:custos:device:dev-0001,DNS:dev-0001.acme.example" \
  -outform DER -out "$CORPUS/csr_parse/p256.der"
openssl req -new "${ec[@]}" -keyout "$tmp/k2" -subj "/CN=dev-pem" \
  -addext "subjectAltName=URI:urn:custos:device:dev-pem" -out "$CORPUS/csr_parse/p256.pem"
openssl req -new -newkey ed25519 -nodes -keyout "$tmp/k3" -subj "/CN=dev-ed" \
  -addext "subjectAltName=URI:urn:custos:device:dev-ed" -outform DER \
  -out "$CORPUS/csr_parse/ed25519.der"
openssl req -new "${ec[@]}" -keyout "$tmp/k4" -subj "/CN=dev-a" \
  -addext "subjectAltName=URI:urn:custos:device:dev-b" -outform DER \
  -out "$CORPUS/csr_parse/two_devices.der"
openssl req -new -newkey rsa:1024 -nodes -keyout "$tmp/k5" -subj "/CN=dev-rsa" -outform DER \
  -out "$CORPUS/csr_parse/rsa.der"

# cert_chain: [options][u16 leaf length][leaf][u16 intermediate length]
# [intermediate][CRL], under the anchor of fuzz/cert_chain_anchor.h.
sed -n '/R"(/,/)"/p' fuzz/cert_chain_anchor.h | sed '1s/.*R"(//; $d' >"$tmp/anchor.pem"
anchor_key=fuzz/cert_chain_anchor.key.pem
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
  >"$tmp/ca.ext"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:custos:device:dev-1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
  >"$tmp/dev.ext"
openssl req -new "${ec[@]}" -keyout "$tmp/ca.key" -subj "/O=custos fuzz/CN=Fuzz Issuing CA" \
  -out "$tmp/ca.csr"
openssl x509 -req -in "$tmp/ca.csr" -CA "$tmp/anchor.pem" -CAkey "$anchor_key" -days 3650 \
  -extfile "$tmp/ca.ext" -out "$tmp/ca.pem" 2>/dev/null
openssl req -new "${ec[@]}" -keyout "$tmp/dev.key" -subj "/O=custos fuzz/CN=dev-1" \
  -out "$tmp/dev.csr"
openssl x509 -req -in "$tmp/dev.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -days 30 \
  -extfile "$tmp/dev.ext" -out "$tmp/dev.pem" 2>/dev/null
openssl x509 -req -in "$tmp/dev.csr" -CA "$tmp/anchor.pem" -CAkey "$anchor_key" -days 30 \
  -extfile "$tmp/dev.ext" -out "$tmp/dev_direct.pem" 2>/dev/null
# CRLs of the issuing CA: empty, and revoking the device.
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n' \
  "$tmp" "$tmp" >"$tmp/ca.cnf"
touch "$tmp/index.txt" && echo 01 >"$tmp/crlnumber"
openssl ca -config "$tmp/ca.cnf" -gencrl -keyfile "$tmp/ca.key" -cert "$tmp/ca.pem" \
  -out "$tmp/empty_crl.pem" 2>/dev/null
openssl ca -config "$tmp/ca.cnf" -revoke "$tmp/dev.pem" -keyfile "$tmp/ca.key" \
  -cert "$tmp/ca.pem" -crl_reason keyCompromise 2>/dev/null
openssl ca -config "$tmp/ca.cnf" -gencrl -keyfile "$tmp/ca.key" -cert "$tmp/ca.pem" \
  -out "$tmp/revoked_crl.pem" 2>/dev/null
for name in ca dev dev_direct; do openssl x509 -in "$tmp/$name.pem" -outform DER -out "$tmp/$name.der"; done
for name in empty_crl revoked_crl; do openssl crl -in "$tmp/$name.pem" -outform DER -out "$tmp/$name.der"; done
: >"$tmp/none.der"

u16() { printf "\\x$(printf %02x $(($1 >> 8)))\\x$(printf %02x $(($1 & 255)))"; }
seed() {  # seed NAME OPTIONS LEAF INTERMEDIATE CRL
  { printf "\\x$(printf %02x "$2")"; u16 "$(stat -c %s "$3")"; cat "$3"
    u16 "$(stat -c %s "$4")"; cat "$4"; cat "$5"; } >"$CORPUS/cert_chain/$1.bin"
}
seed valid 0 "$tmp/dev.der" "$tmp/ca.der" "$tmp/none.der"
seed valid_client 2 "$tmp/dev.der" "$tmp/ca.der" "$tmp/none.der"
seed valid_server 4 "$tmp/dev.der" "$tmp/ca.der" "$tmp/none.der"
seed empty_crl 0 "$tmp/dev.der" "$tmp/ca.der" "$tmp/empty_crl.der"
seed crl_required 1 "$tmp/dev.der" "$tmp/ca.der" "$tmp/empty_crl.der"
seed revoked 0 "$tmp/dev.der" "$tmp/ca.der" "$tmp/revoked_crl.der"
seed missing_intermediate 0 "$tmp/dev.der" "$tmp/none.der" "$tmp/none.der"
seed direct 0 "$tmp/dev_direct.der" "$tmp/none.der" "$tmp/none.der"
seed ca_as_leaf 0 "$tmp/ca.der" "$tmp/none.der" "$tmp/none.der"
