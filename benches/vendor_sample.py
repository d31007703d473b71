#!/usr/bin/env python3
"""The vendor's documented Uplynk sample (requests + the api_auth recipe), as a load generator.

Usage: vendor_sample.py BASE_URL CONCURRENCY CALLS. Prints calls per second. Written from the recipe in
shared/api-notes/uplynk.md (msg = base64(zlib(json.dumps({_owner, _timestamp}), 9)); sig = hex HMAC-SHA256),
the way the vendor's GET allowed-owners sample calls it: one requests call per request, signed each time.
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import requests

USER_ID = "1234567890abcdefghijklmnopqrstu"
API_KEY = "1234567890abcdefghijklmnopqrstuvwxyz1234"
GROUP = "e8d6b5cb940c40cc9ec6ad081a38f3f0"


def signed(params):
    msg = {}
    msg.update({"_owner": USER_ID, "_timestamp": int(time.time())})
    msg = base64.b64encode(zlib.compress(json.dumps(msg).encode(), 9)).strip()
    sig = hmac.new(API_KEY.encode(), msg, hashlib.sha256).hexdigest()
    params.update({"msg": msg, "sig": sig})
    return params


local = threading.local()


def call(root):
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    url = root + "/api/v4/failover-groups/" + GROUP + "/allowed-owners"
    response = session.get(url, params=signed({}), headers={"Content-Type": "application/json"})
    return len(response.json()["items"])


def main():
    root, concurrency, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if concurrency == 1:
        # The sample as documented: one call after another, no thread pool.
        for _ in range(8):
            call(root)
        started = time.perf_counter()
        for _ in range(calls):
            call(root)
        print(f"{calls / (time.perf_counter() - started):.1f}")
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda _: call(root), range(concurrency * 4)))  # warm the sessions
        started = time.perf_counter()
        list(pool.map(lambda _: call(root), range(calls)))
        elapsed = time.perf_counter() - started
    print(f"{calls / elapsed:.1f}")


if __name__ == "__main__":
    main()
