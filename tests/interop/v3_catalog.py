"""Tencent's official API 3.0 SDK (tencentcloud-sdk-python-cdb) reads the sandbox's catalog.

Usage: v3_catalog.py HOST:PORT SECRET_ID SECRET_KEY

Calls DescribeDBInstances with a Tags filter (the SDK's Tag{Key, Value}) in ap-guangzhou and
reads each item's TagList (TagInfoItem{TagKey, TagValue}), then DescribeDatabases and
DescribeTables (of `orders`, and of a database it does not hold) for the first instance.
Prints one line per call and exits non-zero on the first unexpected answer.
"""

import json
import os
import sys

from tencentcloud.cdb.v20170320 import cdb_client, models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

# The sandbox is on loopback: never send its requests through a proxy.
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def request(model, params):
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def fail(message):
    print("UNEXPECTED: " + message)
    sys.exit(1)


def main():
    target, secret_id, secret_key = sys.argv[1:4]
    http = HttpProfile(protocol="http", endpoint=target, reqTimeout=30)
    cdb = cdb_client.CdbClient(
        credential.Credential(secret_id, secret_key),
        "ap-guangzhou",
        ClientProfile(httpProfile=http),
    )

    rsp = cdb.DescribeDBInstances(
        request(
            models.DescribeDBInstancesRequest,
            {"Tags": [{"Key": "service", "Value": "orders"}], "Limit": 100},
        )
    )
    if not rsp.Items:
        fail("instances: " + rsp.to_json_string())
    for item in rsp.Items:
        tags = {t.TagKey: t.TagValue for t in (item.TagList or [])}
        if tags.get("service") != "orders":
            fail("an instance without the tag: " + item.to_json_string())
    ids = ",".join(i.InstanceId for i in rsp.Items)
    types = ",".join(str(i.InstanceType) for i in rsp.Items)
    print("DescribeDBInstances total=%d ids=%s types=%s" % (rsp.TotalCount, ids, types))

    first = rsp.Items[0].InstanceId
    rsp = cdb.DescribeDatabases(
        request(models.DescribeDatabasesRequest, {"InstanceId": first, "Limit": 5000})
    )
    charsets = {d.DatabaseName: d.CharacterSet for d in (rsp.DatabaseList or [])}
    if "orders" not in (rsp.Items or []) or "orders" not in charsets:
        fail("databases: " + rsp.to_json_string())
    print("DescribeDatabases total=%d orders=%s" % (rsp.TotalCount, "orders" in rsp.Items))

    rsp = cdb.DescribeTables(
        request(
            models.DescribeTablesRequest,
            {"InstanceId": first, "Database": "orders", "Offset": 0, "Limit": 5000},
        )
    )
    print("DescribeTables total=%d items=%s" % (rsp.TotalCount, ",".join(rsp.Items or [])))

    # The SDK models no error for a database that does not exist: its answer is the same
    # DescribeTablesResponse, with no tables.
    rsp = cdb.DescribeTables(
        request(
            models.DescribeTablesRequest,
            {"InstanceId": first, "Database": "no_such_db", "Offset": 0, "Limit": 5000},
        )
    )
    print("DescribeTables no_such_db total=%d items=%s" % (rsp.TotalCount, len(rsp.Items or [])))


if __name__ == "__main__":
    main()
