#!/usr/bin/env bash
# Records the transit facts docs/openbao.md relies on, against a real OpenBao server, with curl.
#
#   scripts/openbao-record.sh VERSION > exchanges.jsonl
#
# Starts `scripts/openbao.sh start VERSION`, sends the exchanges below in order (each has an id
# like E5.3 that docs/openbao.md and the overlay's `observed` bases cite), stops the server.
# One JSON object per line: id, title, method, path, token (root|bad|none), request body,
# status, content type and the response body with long strings abbreviated.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "openbao-record.sh: jq is required" >&2; exit 1; }
[[ $# -eq 1 ]] || { echo "usage: scripts/openbao-record.sh VERSION" >&2; exit 2; }
version=$1

env_lines=$(scripts/openbao.sh start "$version")
BAO_ADDR=$(sed -n 's/^BAO_ADDR=//p' <<<"$env_lines")
BAO_TOKEN=$(sed -n 's/^BAO_TOKEN=//p' <<<"$env_lines")
pid=$(sed -n 's/^BAO_PID=//p' <<<"$env_lines")
trap 'scripts/openbao.sh stop "$pid" >/dev/null' EXIT

LAST='' # the last response body (full, for later steps)

# ex ID TITLE METHOD PATH [BODY]; TOKEN=bad|none in the environment changes the token sent.
ex() {
  local id=$1 title=$2 method=$3 path=$4 body=${5-} token=${TOKEN:-root}
  local args=(-s -X "$method" -o /tmp/openbao-record.$$ -w '%{http_code} %{content_type}')
  case "$token" in
  root) args+=(-H "X-Vault-Token: $BAO_TOKEN") ;;
  bad) args+=(-H "X-Vault-Token: not-a-token") ;;
  none) ;;
  esac
  if [[ $# -ge 5 ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  local meta status ctype
  meta=$(curl "${args[@]}" "$BAO_ADDR$path")
  status=${meta%% *}
  ctype=${meta#* }
  LAST=$(cat /tmp/openbao-record.$$)
  rm -f /tmp/openbao-record.$$
  local resp
  # Long values (keys, ciphertexts, signatures) are cut; error messages are kept whole.
  if resp=$(jq -c '(.errors? // null) as $e
                   | walk(if type == "string" and length > 72
                          then .[0:40] + "…(\(length) chars)" else . end)
                   | if $e != null then .errors = $e else . end' <<<"$LAST" 2>/dev/null) \
    && [[ -n "$resp" ]]; then
    :
  else
    resp=$(jq -Rn --arg t "$LAST" '$t')
  fi
  jq -cn --arg id "$id" --arg title "$title" --arg version "$version" --arg method "$method" \
    --arg path "$path" --arg token "$token" --arg body "$body" --argjson status "$status" \
    --arg ctype "$ctype" --argjson response "$resp" \
    '{id: $id, version: $version, title: $title, method: $method, path: $path, token: $token,
      body: (if $body == "" then null else $body end), status: $status,
      content_type: $ctype, response: $response}'
}

get() { jq -r "$1" <<<"$LAST"; }

# §1 the server
ex E1.1 "health" GET /v1/sys/health
ex E1.2 "transit mount" GET /v1/sys/mounts/transit

# §2 create a key per type
ex E2.1 "create aes256-gcm96" POST /v1/transit/keys/aes '{"type":"aes256-gcm96"}'
ex E2.2 "create chacha20-poly1305" POST /v1/transit/keys/chacha '{"type":"chacha20-poly1305"}'
ex E2.3 "create rsa-2048" POST /v1/transit/keys/rsa '{"type":"rsa-2048"}'
ex E2.4 "create ecdsa-p256" POST /v1/transit/keys/ecdsa '{"type":"ecdsa-p256"}'
ex E2.5 "create ed25519" POST /v1/transit/keys/ed '{"type":"ed25519"}'
ex E2.6 "create hmac without key_size" POST /v1/transit/keys/hm0 '{"type":"hmac"}'
ex E2.7 "create hmac key_size 32" POST /v1/transit/keys/hm '{"type":"hmac","key_size":32}'
ex E2.8 "create with no body" POST /v1/transit/keys/dflt
ex E2.9 "create an existing name with another type" POST /v1/transit/keys/aes '{"type":"rsa-2048"}'
ex E2.10 "create unknown type" POST /v1/transit/keys/bogus '{"type":"aes-999"}'
ex E2.11 "create with a malformed JSON body" POST /v1/transit/keys/broken '{"type":'
ex E2.12 "create hmac key_size 16" POST /v1/transit/keys/hm16 '{"type":"hmac","key_size":16}'

# §3 read a key
ex E3.1 "read aes" GET /v1/transit/keys/aes
ex E3.2 "read rsa" GET /v1/transit/keys/rsa
ex E3.3 "read hmac" GET /v1/transit/keys/hm
ex E3.4 "read unknown" GET /v1/transit/keys/nokey

# §4 list keys
ex E4.1 "LIST method" LIST /v1/transit/keys
ex E4.2 "GET ?list=true" GET '/v1/transit/keys?list=true'
ex E4.3 "GET without list" GET /v1/transit/keys
ex E4.4 "GET ?list=false" GET '/v1/transit/keys?list=false'

# §5 encrypt / decrypt
ex E5.1 "encrypt" POST /v1/transit/encrypt/aes '{"plaintext":"aGVsbG8gd29ybGQ="}'
ct1=$(get .data.ciphertext)
ex E5.2 "decrypt" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$ct1\"}"
ex E5.3 "encrypt empty plaintext" POST /v1/transit/encrypt/aes '{"plaintext":""}'
ct_empty=$(get .data.ciphertext)
ex E5.4 "decrypt the empty plaintext's ciphertext" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$ct_empty\"}"
ex E5.5 "encrypt without plaintext" POST /v1/transit/encrypt/aes '{}'
ex E5.6 "encrypt bad base64" POST /v1/transit/encrypt/aes '{"plaintext":"not base64!"}'
tampered="${ct1%?????}AAAA="
ex E5.7 "decrypt tampered ciphertext" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$tampered\"}"
ex E5.8 "decrypt ciphertext without prefix" POST /v1/transit/decrypt/aes '{"ciphertext":"aGVsbG8="}'
ex E5.9 "decrypt wrong key version v9" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"${ct1/vault:v1:/vault:v9:}\"}"
ex E5.10 "encrypt key_version 9" POST /v1/transit/encrypt/aes '{"plaintext":"aGVsbG8=","key_version":9}'
ex E5.11 "decrypt without ciphertext" POST /v1/transit/decrypt/aes '{}'
ex E5.12 "decrypt another key's ciphertext" POST /v1/transit/decrypt/chacha "{\"ciphertext\":\"$ct1\"}"
ex E5.13 "encrypt chacha20-poly1305" POST /v1/transit/encrypt/chacha '{"plaintext":"aGVsbG8="}'
ex E5.14 "encrypt rsa-2048" POST /v1/transit/encrypt/rsa '{"plaintext":"aGVsbG8="}'
ct_rsa=$(get .data.ciphertext)
ex E5.15 "decrypt rsa-2048" POST /v1/transit/decrypt/rsa "{\"ciphertext\":\"$ct_rsa\"}"
ex E5.16 "encrypt with an ed25519 key" POST /v1/transit/encrypt/ed '{"plaintext":"aGVsbG8="}'
ex E5.17 "decrypt ciphertext with bad base64" POST /v1/transit/decrypt/aes '{"ciphertext":"vault:v1:!!!"}'
ex E5.18 "encrypt batch" POST /v1/transit/encrypt/aes '{"batch_input":[{"plaintext":"aGVsbG8="},{"plaintext":"???"}]}'

# §6 rotate
ex E6.1 "rotate" POST /v1/transit/keys/aes/rotate
ex E6.2 "read after rotate" GET /v1/transit/keys/aes
ex E6.3 "encrypt after rotate" POST /v1/transit/encrypt/aes '{"plaintext":"aGVsbG8gd29ybGQ="}'
ex E6.4 "decrypt a v1 ciphertext after rotate" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$ct1\"}"
ex E6.5 "rotate with a body" POST /v1/transit/keys/aes/rotate '{}'

# §7 rewrap
ex E7.1 "rewrap v1 to latest" POST /v1/transit/rewrap/aes "{\"ciphertext\":\"$ct1\"}"
ex E7.2 "rewrap tampered" POST /v1/transit/rewrap/aes "{\"ciphertext\":\"$tampered\"}"
ex E7.3 "rewrap without ciphertext" POST /v1/transit/rewrap/aes '{}'

# §8 min_decryption_version
ex E8.1 "config min_decryption_version 3" POST /v1/transit/keys/aes/config '{"min_decryption_version":3}'
ex E8.2 "config min_decryption_version 2" POST /v1/transit/keys/aes/config '{"min_decryption_version":2}'
ex E8.3 "read after config" GET /v1/transit/keys/aes
ex E8.4 "decrypt v1 below min_decryption_version" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$ct1\"}"
ex E8.5 "rewrap v1 below min_decryption_version" POST /v1/transit/rewrap/aes "{\"ciphertext\":\"$ct1\"}"
ex E8.6 "config unknown field" POST /v1/transit/keys/aes/config '{"no_such_field":1}'

# §9 datakey
ex E9.1 "datakey plaintext" POST /v1/transit/datakey/plaintext/aes '{}'
ex E9.2 "datakey wrapped" POST /v1/transit/datakey/wrapped/aes '{}'
ct_dk=$(get .data.ciphertext)
ex E9.3 "decrypt a wrapped datakey" POST /v1/transit/decrypt/aes "{\"ciphertext\":\"$ct_dk\"}"
ex E9.4 "datakey bad kind" POST /v1/transit/datakey/other/aes '{}'
ex E9.5 "datakey bits 512" POST /v1/transit/datakey/plaintext/aes '{"bits":512}'
ex E9.6 "datakey bits 100" POST /v1/transit/datakey/plaintext/aes '{"bits":100}'
ex E9.7 "datakey with an ecdsa key" POST /v1/transit/datakey/plaintext/ecdsa '{}'
ex E9.8 "datakey with no body" POST /v1/transit/datakey/plaintext/aes

# §10 sign / verify
ex E10.1 "sign ecdsa-p256" POST /v1/transit/sign/ecdsa '{"input":"aGVsbG8="}'
sig_ec=$(get .data.signature)
ex E10.2 "verify ecdsa-p256" POST /v1/transit/verify/ecdsa "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_ec\"}"
ex E10.3 "verify tampered input" POST /v1/transit/verify/ecdsa "{\"input\":\"aGVsbG8h\",\"signature\":\"$sig_ec\"}"
ex E10.4 "verify malformed signature (no prefix)" POST /v1/transit/verify/ecdsa '{"input":"aGVsbG8=","signature":"abc"}'
ex E10.5 "verify malformed signature (bad base64)" POST /v1/transit/verify/ecdsa '{"input":"aGVsbG8=","signature":"vault:v1:!!!"}'
ex E10.6 "verify signature of another length" POST /v1/transit/verify/ecdsa '{"input":"aGVsbG8=","signature":"vault:v1:AAAA"}'
ex E10.7 "sign ed25519" POST /v1/transit/sign/ed '{"input":"aGVsbG8="}'
sig_ed=$(get .data.signature)
ex E10.8 "verify ed25519" POST /v1/transit/verify/ed "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_ed\"}"
ex E10.9 "sign rsa-2048" POST /v1/transit/sign/rsa '{"input":"aGVsbG8="}'
sig_rsa=$(get .data.signature)
ex E10.10 "verify rsa-2048" POST /v1/transit/verify/rsa "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_rsa\"}"
ex E10.11 "sign with an aes key" POST /v1/transit/sign/aes '{"input":"aGVsbG8="}'
ex E10.12 "sign without input" POST /v1/transit/sign/ecdsa '{}'
ex E10.13 "sign bad base64 input" POST /v1/transit/sign/ecdsa '{"input":"not base64!"}'
ex E10.14 "verify signature v9" POST /v1/transit/verify/ecdsa "{\"input\":\"aGVsbG8=\",\"signature\":\"${sig_ec/vault:v1:/vault:v9:}\"}"
ex E10.15 "verify without signature" POST /v1/transit/verify/ecdsa '{"input":"aGVsbG8="}'
ex E10.16 "sign with hash_algorithm sha2-512" POST /v1/transit/sign/ecdsa '{"input":"aGVsbG8=","hash_algorithm":"sha2-512"}'
ex E10.17 "verify non-canonical base64 of the same input" POST /v1/transit/verify/ecdsa "{\"input\":\"aGVsbG9=\",\"signature\":\"$sig_ec\"}"
ex E10.18 "sign with an unknown hash_algorithm" POST /v1/transit/sign/ecdsa '{"input":"aGVsbG8=","hash_algorithm":"md5"}'
ex E10.19 "sign, algorithm in the path" POST /v1/transit/sign/ecdsa/sha2-512 '{"input":"aGVsbG8="}'
sig_512=$(get .data.signature)
ex E10.20 "verify, algorithm in the path" POST /v1/transit/verify/ecdsa/sha2-512 "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_512\"}"
ex E10.21 "verify a sha2-512 signature as sha2-256" POST /v1/transit/verify/ecdsa "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_512\"}"

# §11 hmac
ex E11.1 "hmac with an hmac key" POST /v1/transit/hmac/hm '{"input":"aGVsbG8="}'
mac=$(get .data.hmac)
ex E11.2 "verify hmac" POST /v1/transit/verify/hm "{\"input\":\"aGVsbG8=\",\"hmac\":\"$mac\"}"
ex E11.3 "verify hmac, tampered input" POST /v1/transit/verify/hm "{\"input\":\"aGVsbG8h\",\"hmac\":\"$mac\"}"
ex E11.4 "verify malformed hmac" POST /v1/transit/verify/hm '{"input":"aGVsbG8=","hmac":"vault:v1:!!!"}'
ex E11.5 "hmac with an aes key" POST /v1/transit/hmac/aes '{"input":"aGVsbG8="}'
ex E11.6 "hmac without input" POST /v1/transit/hmac/hm '{}'
ex E11.7 "hmac with an ecdsa key" POST /v1/transit/hmac/ecdsa '{"input":"aGVsbG8="}'
ex E11.8 "verify with both hmac and signature" POST /v1/transit/verify/hm "{\"input\":\"aGVsbG8=\",\"hmac\":\"$mac\",\"signature\":\"$mac\"}"
ex E11.9 "hmac sha2-512 via path" POST /v1/transit/hmac/hm/sha2-512 '{"input":"aGVsbG8="}'
ex E11.10 "sign with an hmac key" POST /v1/transit/sign/hm '{"input":"aGVsbG8="}'

# §12 deletion
ex E12.1 "delete without deletion_allowed" DELETE /v1/transit/keys/ecdsa
ex E12.2 "config deletion_allowed" POST /v1/transit/keys/ecdsa/config '{"deletion_allowed":true}'
ex E12.3 "delete" DELETE /v1/transit/keys/ecdsa
ex E12.4 "read after delete" GET /v1/transit/keys/ecdsa
ex E12.5 "delete again" DELETE /v1/transit/keys/ecdsa

# §13 an unknown key name, per endpoint
ex E13.1 "read" GET /v1/transit/keys/nokey
ex E13.2 "delete" DELETE /v1/transit/keys/nokey
ex E13.3 "config" POST /v1/transit/keys/nokey/config '{"deletion_allowed":true}'
ex E13.4 "rotate" POST /v1/transit/keys/nokey/rotate
ex E13.5 "decrypt" POST /v1/transit/decrypt/nokey "{\"ciphertext\":\"$ct1\"}"
ex E13.6 "rewrap" POST /v1/transit/rewrap/nokey "{\"ciphertext\":\"$ct1\"}"
ex E13.7 "datakey" POST /v1/transit/datakey/plaintext/nokey '{}'
ex E13.8 "sign" POST /v1/transit/sign/nokey '{"input":"aGVsbG8="}'
ex E13.9 "verify" POST /v1/transit/verify/nokey "{\"input\":\"aGVsbG8=\",\"signature\":\"$sig_ec\"}"
ex E13.10 "hmac" POST /v1/transit/hmac/nokey '{"input":"aGVsbG8="}'
ex E13.11 "encrypt (upsert)" POST /v1/transit/encrypt/nokey-upsert '{"plaintext":"aGVsbG8="}'
ex E13.12 "read the upserted key" GET /v1/transit/keys/nokey-upsert

# §14 auth
TOKEN=bad ex E14.1 "read, bad token" GET /v1/transit/keys/aes
TOKEN=none ex E14.2 "read, no token" GET /v1/transit/keys/aes
TOKEN=bad ex E14.3 "encrypt, bad token" POST /v1/transit/encrypt/aes '{"plaintext":"aGVsbG8="}'
TOKEN=none ex E14.4 "LIST, no token" LIST /v1/transit/keys
TOKEN=none ex E14.5 "read unknown key, no token" GET /v1/transit/keys/nokey
TOKEN=none ex E14.6 "health, no token" GET /v1/sys/health

# §15 listing when empty
for k in aes chacha rsa ed hm dflt nokey-upsert; do
  curl -s -o /dev/null -X POST -H "X-Vault-Token: $BAO_TOKEN" -d '{"deletion_allowed":true}' \
    "$BAO_ADDR/v1/transit/keys/$k/config"
  curl -s -o /dev/null -X DELETE -H "X-Vault-Token: $BAO_TOKEN" "$BAO_ADDR/v1/transit/keys/$k"
done
ex E15.1 "LIST with no keys" LIST /v1/transit/keys
ex E15.2 "GET ?list=true with no keys" GET '/v1/transit/keys?list=true'

# §16 found by the conformance run (kmsconform run --api openbao-transit)
ex E16.0a "create aes256-gcm96" POST /v1/transit/keys/aes2 '{"type":"aes256-gcm96"}'
ex E16.0b "create ecdsa-p256" POST /v1/transit/keys/ecdsa2 '{"type":"ecdsa-p256"}'
ex E16.0c "create hmac" POST /v1/transit/keys/hm2 '{"type":"hmac","key_size":32}'
ex E16.1 "config with no body" POST /v1/transit/keys/aes2/config
ex E16.2 "sign with no body" POST /v1/transit/sign/ecdsa2
ex E16.3 "sign, algorithm in the path, no body" POST /v1/transit/sign/ecdsa2/sha2-512
ex E16.4 "config with a null body" POST /v1/transit/keys/aes2/config 'null'
ex E16.5 "create with a null body" POST /v1/transit/keys/nullbody 'null'
ex E16.6 "config with a string body" POST /v1/transit/keys/aes2/config '"str"'
ex E16.7 "encrypt batch item without plaintext" POST /v1/transit/encrypt/aes2 '{"batch_input":[{}]}'
ex E16.8 "decrypt batch item without ciphertext" POST /v1/transit/decrypt/aes2 '{"batch_input":[{}]}'
ex E16.9 "encrypt batch_input not an array" POST /v1/transit/encrypt/aes2 '{"batch_input":"x"}'
ex E16.10 "encrypt associated_data not base64" POST /v1/transit/encrypt/aes2 '{"plaintext":"aGk=","associated_data":"x%"}'
ex E16.11 "datakey associated_data not base64" POST /v1/transit/datakey/plaintext/aes2 '{"associated_data":"x%"}'
ex E16.12 "encrypt associated_data base64" POST /v1/transit/encrypt/aes2 '{"plaintext":"aGk=","associated_data":"aGk="}'
ex E16.13 "GET ?list=abc" GET '/v1/transit/keys?list=abc'
ex E16.14 "encrypt null plaintext" POST /v1/transit/encrypt/aes2 '{"plaintext":null}'
ex E16.15 "hmac null input" POST /v1/transit/hmac/hm2 '{"input":null}'
ex E16.16a "encrypt for the batch rewrap" POST /v1/transit/encrypt/aes2 '{"plaintext":"aGk="}'
ct16=$(get .data.ciphertext)
ex E16.16 "rewrap batch" POST /v1/transit/rewrap/aes2 "{\"batch_input\":[{\"ciphertext\":\"$ct16\"},{\"ciphertext\":\"x\"}]}"
ex E16.17 "sign batch" POST /v1/transit/sign/ecdsa2 '{"batch_input":[{"input":"aGk="},{"input":"%%"}]}'
ex E16.18 "verify batch items without signature or hmac" POST /v1/transit/verify/ecdsa2 '{"batch_input":[{"input":"aGk="}]}'
ex E16.19 "hmac batch" POST /v1/transit/hmac/hm2 '{"batch_input":[{"input":"aGk="},{}]}'
ex E16.20 "create a derived convergent aes256-gcm96 key" POST /v1/transit/keys/conv '{"type":"aes256-gcm96","derived":true,"convergent_encryption":true}'
ex E16.21 "decrypt batch with a bad item" POST /v1/transit/decrypt/aes2 "{\"batch_input\":[{\"ciphertext\":\"$ct16\"},{\"ciphertext\":\"x\"}]}"
ex E16.22 "config auto_rotate_period 60" POST /v1/transit/keys/aes2/config '{"auto_rotate_period":60}'
ex E16.23 "config auto_rotate_period 3600" POST /v1/transit/keys/aes2/config '{"auto_rotate_period":3600}'
ex E16.24 "config min_decryption_version above latest" POST /v1/transit/keys/aes2/config '{"min_decryption_version":9}'
ex E16.25 "rotate with external_key_ref on an aes key" POST /v1/transit/keys/aes2/rotate '{"external_key_ref":"cfg:key"}'
ex E16.26a "create chacha20-poly1305" POST /v1/transit/keys/chacha2 '{"type":"chacha20-poly1305"}'
ex E16.26b "encrypt chacha20-poly1305" POST /v1/transit/encrypt/chacha2 '{"plaintext":"aGk="}'
ct_ch=$(get .data.ciphertext)
ex E16.26 "rotate chacha20-poly1305" POST /v1/transit/keys/chacha2/rotate
ex E16.27 "rewrap chacha20-poly1305" POST /v1/transit/rewrap/chacha2 "{\"ciphertext\":\"$ct_ch\"}"
ex E16.28 "decrypt a v1 chacha20-poly1305 ciphertext after rotate" POST /v1/transit/decrypt/chacha2 "{\"ciphertext\":\"$ct_ch\"}"
ex E16.29a "create rsa-2048" POST /v1/transit/keys/rsa2 '{"type":"rsa-2048"}'
ex E16.29b "encrypt rsa-2048" POST /v1/transit/encrypt/rsa2 '{"plaintext":"aGk="}'
ct_r=$(get .data.ciphertext)
ex E16.29 "decrypt a tampered rsa-2048 ciphertext" POST /v1/transit/decrypt/rsa2 '{"ciphertext":"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}'
ex E16.30 "rotate rsa-2048" POST /v1/transit/keys/rsa2/rotate
ex E16.31 "rewrap rsa-2048" POST /v1/transit/rewrap/rsa2 "{\"ciphertext\":\"$ct_r\"}"
ex E16.32 "decrypt a v1 rsa-2048 ciphertext after rotate" POST /v1/transit/decrypt/rsa2 "{\"ciphertext\":\"$ct_r\"}"
ex E16.33a "create ed25519" POST /v1/transit/keys/ed2 '{"type":"ed25519"}'
ex E16.33b "sign ed25519" POST /v1/transit/sign/ed2 '{"input":"aGVsbG8="}'
sig16=$(get .data.signature)
ex E16.33 "verify ed25519, tampered input" POST /v1/transit/verify/ed2 "{\"input\":\"aGVsbG8h\",\"signature\":\"$sig16\"}"
ex E16.34a "hmac" POST /v1/transit/hmac/hm2 '{"input":"aGVsbG8="}'
ex E16.34 "hmac of the same input again" POST /v1/transit/hmac/hm2 '{"input":"aGVsbG8="}'
ex E16.35 "create a derived rsa-2048 key" POST /v1/transit/keys/drsa '{"type":"rsa-2048","derived":true}'
ex E16.36 "create a convergent derived ed25519 key" POST /v1/transit/keys/ced '{"type":"ed25519","derived":true,"convergent_encryption":true}'
long=$(head -c 255 /dev/zero | base64 -w0)
ex E16.37 "encrypt a 255-byte plaintext with rsa-2048" POST /v1/transit/encrypt/rsa2 "{\"plaintext\":\"$long\"}"
ex E16.38 "sign prehashed without input, ecdsa-p256" POST /v1/transit/sign/ecdsa2 '{"prehashed":true}'
ex E16.39a "sign rsa-2048" POST /v1/transit/sign/rsa2 '{"input":"aGVsbG8="}'
sig16r=$(get .data.signature)
ex E16.39 "verify rsa-2048, tampered input" POST /v1/transit/verify/rsa2 "{\"input\":\"aGVsbG8h\",\"signature\":\"$sig16r\"}"
