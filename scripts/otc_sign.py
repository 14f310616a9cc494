#!/usr/bin/env python3
"""Signs requests with the official Huawei Cloud / Open Telekom Cloud SDK signer
(huaweicloudsdkcore.signer.signer.Signer): the oracle for src/target/sign/otc.rs.

Run it with the venv that scripts/otc-sdk.sh installs:

    ${KMSCONFORM_TOOLS:-$HOME/.cache/kmsconform}/otc-sdk/bin/python scripts/otc_sign.py

Reads one JSON object per line on stdin:

    {"method": "POST", "url": "https://host/path?query", "headers": [["Name", "value"], ...],
     "body": "<base64>", "ak": "...", "sk": "...", "sdk_date": "20191115T033655Z"}

and writes one JSON line per request (flushed at once, so a caller may keep the process):

    {"headers": [["X-Sdk-Date", "..."], ["Host", "..."], ["Authorization", "..."]],
     "uri": "/path?canonical-query"}

`headers` are the headers the SDK adds (those not among the input headers, plus
Authorization); `uri` is the request target the SDK would send. A request that cannot be
signed gives {"error": "..."}.

The SDK signs `X-Sdk-Date` from the request when present, so the fixed date is set as that
header before signing (when the input does not already carry one). The URL is split into
what the SDK's own client hands the signer: scheme, host (netloc), resource path (as written,
still percent-encoded) and the query as (key, value) tuples, percent-decoded with
urllib.parse.unquote ('+' stays a plus).
"""
import base64
import json
import sys
from urllib.parse import unquote, urlsplit

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer


def query_tuples(query):
    out = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out.append((unquote(key), unquote(value)))
    return out


def sign(req):
    parts = urlsplit(req["url"])
    given = [(k, v) for k, v in req.get("headers", [])]
    header_params = dict(given)
    if not any(k.lower() == "x-sdk-date" for k, _ in given):
        header_params["X-Sdk-Date"] = req["sdk_date"]
    request = SdkRequest(
        method=req["method"],
        schema=parts.scheme,
        host=parts.netloc,
        resource_path=parts.path or "/",
        query_params=query_tuples(parts.query),
        header_params=header_params,
        body=base64.b64decode(req.get("body", "")),
    )
    Signer(BasicCredentials(ak=req["ak"], sk=req["sk"])).sign(request)
    given_names = {k for k, _ in given}
    added = [[k, v] for k, v in request.header_params.items()
             if k not in given_names or k == "Authorization"]
    return {"headers": added, "uri": request.uri}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = sign(json.loads(line))
        except Exception as e:  # reported per request; the caller decides
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
