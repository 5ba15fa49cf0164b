#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/ with the release build of
# custos (run after a format change; the seeds are committed).
#   fuzz/make-seeds.sh [build/release]
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOS=${1:-build/release}/apps/custos/custos
CORPUS=fuzz/corpus
rm -rf "$CORPUS" && mkdir -p "$CORPUS"/{envelope_open,aead_decrypt,kat_reader,keyset_json,pkcs11_uri}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The fuzzer's keyset, taken from fuzz/fuzz_keyset.h (one source of truth).
sed -n '/R"(/,/)"/p' fuzz/fuzz_keyset.h | sed '1s/.*R"(//; $d' >"$tmp/keyset.json"
cp "$tmp/keyset.json" "$CORPUS/keyset_json/fuzz_keyset.json"
"$CUSTOS" crypto keygen --alg gift-cofb >"$CORPUS/keyset_json/generated.json"
echo '{"version":1,"primary_key_id":0,"keys":[]}' >"$CORPUS/keyset_json/empty_keys.json"

# Envelopes sealed under each enabled key of the fuzz keyset.
for id in 1 2 3 4 5 6; do
  sed "s/\"primary_key_id\": 1,/\"primary_key_id\": $id,/" "$tmp/keyset.json" >"$tmp/k$id.json"
  for size in 0 1 16 100; do
    head -c "$size" /dev/urandom | "$CUSTOS" crypto seal --key-file "$tmp/k$id.json" \
      >"$CORPUS/envelope_open/key${id}_${size}.bin"
  done
done

# aead_decrypt: selector byte, AD length byte, then nonce/AD/body.
for alg in 0 1 2 3 4 5; do
  for size in 20 40 80 200; do
    { printf "\\x$(printf %02x "$alg")\\x04"; head -c "$size" /dev/urandom; } \
      >"$CORPUS/aead_decrypt/alg${alg}_${size}.bin"
  done
done

# kat_reader: format byte (0 key=value, 1 Crypto++ colon, 2 NESSIE) then text.
printf '\x00# comment\nCount = 1\nKey = 000102\nPT = \n\nCount = 2\nKey = ff\n' \
  >"$CORPUS/kat_reader/keyvalue.txt"
printf '\x01AlgorithmType: MAC\nName: X\nKey: "Jefe"\nMessage: r3 0xab \\\n  cd\nMAC: 01 02\nTest: Verify\n' \
  >"$CORPUS/kat_reader/colon.txt"
printf '\x02Test vectors -- set 1\n=====\n\nSet 1, vector#  0:\n  key = 8000\n  stream[0..3] = 0102\n                 0304\n  Iterated 100 times=ABCD\n\nEnd\n' \
  >"$CORPUS/kat_reader/nessie.txt"
# pkcs11_uri: RFC 7512 URIs as custos writes them, the RFC's example, every
# attribute, and a few malformed ones.
printf 'pkcs11:token=custos?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/var/lib/custos/user.pin&x-softhsm2-conf=/var/lib/custos/softhsm2.conf' \
  >"$CORPUS/pkcs11_uri/softhsm_token.txt"
printf 'pkcs11:token=The%%20Software%%20PKCS%%2311%%20Softtoken;manufacturer=Snake%%20Oil,%%20Inc.;model=1.0;object=my-certificate;type=cert;id=%%69%%95%%3E%%5C%%F4%%BD%%EC%%91;serial=?pin-source=file:/etc/token_pin' \
  >"$CORPUS/pkcs11_uri/rfc7512_example.txt"
printf 'pkcs11:slot-id=7;library-version=2.6;library-manufacturer=SoftHSM;library-description=Implementation%%20of%%20PKCS11;slot-description=x;slot-manufacturer=y;x-vendor=z?module-name=softhsm2&pin-value=1234&x-opt=a/b' \
  >"$CORPUS/pkcs11_uri/all_attributes.txt"
printf 'pkcs11:' >"$CORPUS/pkcs11_uri/empty.txt"
printf 'pkcs11:token=a%%2;token=b?pin-value=1&pin-source=file:/x' >"$CORPUS/pkcs11_uri/errors.txt"
fuzz/make-identity-seeds.sh "$CORPUS"
ls "$CORPUS"/* | wc -l
