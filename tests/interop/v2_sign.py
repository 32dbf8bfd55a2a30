"""Tencent's own API 2.0 SDK (qcloudapi-sdk-python 2.0.15) signs requests to the sandbox.

Usage: v2_sign.py HOST:PORT SECRET_ID SECRET_KEY

The SDK only speaks HTTPS to its fixed host (cdb.api.qcloud.com). We keep its signing and
parameter handling untouched and swap two things: the host it signs for (the sandbox's
HOST:PORT, which is also what http.client sends as the Host header) and the connection
(plain HTTP to the sandbox on loopback). Prints one line per case and exits non-zero on the
first unexpected answer.
"""

import json
import sys
from http.client import HTTPConnection

from QcloudApi.modules.cdb import Cdb


class PlainConnection(HTTPConnection):
    """What the SDK's MyHTTPSConnection offers (request_length), over plain HTTP."""

    def __init__(self, host, port):
        HTTPConnection.__init__(self, host, port, timeout=30)
        self.request_length = 0

    def send(self, data):
        HTTPConnection.send(self, data)
        self.request_length += len(data)


def service(target, secret_id, secret_key, method, signature_method):
    host, port = target.rsplit(":", 1)

    class SandboxCdb(Cdb):
        requestHost = target

    cdb = SandboxCdb({
        "secretId": secret_id,
        "secretKey": secret_key,
        "Region": "gz",
        "method": method,
        "SignatureMethod": signature_method,
    })
    cdb.apiRequest.conn = PlainConnection(host, int(port))
    return cdb


def code_of(answer):
    return int(answer["code"])


def main():
    target, secret_id, secret_key = sys.argv[1:4]
    para = json.dumps({
        "rollbacktime": "2016-10-31 12:00:00",
        "strategy": "full",
        "dbs": [{"dbname": "db1", "newname": "db1_bak"}],
        "tables": [{"db": "db2", "table": [{"tablename": "table1", "newname": "table1_bak"}]}],
    })
    submit = ("RollbackCdbDatabaseTables",
              {"instances": [{"cdbInstanceId": "cdb-mo64xu70", "para": para}]})
    track = ("GetCdbRollbackJob", {"cdbInstanceId": "cdb-mo64xu70", "offset": 0, "limit": 10})
    cases = [
        ("GET", "HmacSHA1", secret_key, track, 0),
        ("POST", "HmacSHA256", secret_key, submit, 0),
        ("POST", "HmacSHA1", secret_key, track, 0),
        ("GET", "HmacSHA256", secret_key, track, 0),
        ("GET", "HmacSHA1", secret_key + "x", track, 4100),
        ("POST", "HmacSHA256", "wrong-" + secret_key, submit, 4100),
    ]
    for method, signature_method, key, (action, params), expected in cases:
        cdb = service(target, secret_id, key, method, signature_method)
        raw = cdb.call(action, params)
        answer = json.loads(raw)
        got = code_of(answer)
        # Only the code and the action: the answer of a submission holds no secret, but keep
        # the output small and stable.
        print("%s %s %s code=%d" % (method, signature_method, action, got))
        if got != expected:
            print("expected code %d, got %s" % (expected, raw.decode(errors="replace")))
            return 1
        if action == "GetCdbRollbackJob" and got == 0:
            tasks = answer["data"]["taskList"]
            print("  tasks=%d" % len(tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
