"""Tencent's official API 3.0 SDK (tencentcloud-sdk-python-cdb) calls the sandbox.

Usage: v3_sdk.py HOST:PORT SECRET_ID SECRET_KEY INSTANCE_ID

The SDK is used as any user would: a CdbClient whose HttpProfile points at the sandbox
(plain HTTP on loopback, endpoint HOST:PORT, which the SDK also signs as the Host). It calls
DescribeRollbackRangeTime, StartBatchRollback (one table, one hour ago in +08:00) and
DescribeRollbackTaskDetail for the returned AsyncRequestId, then DescribeRollbackRangeTime
with a wrong key. Prints one line per call and exits non-zero on the first unexpected answer.
"""

import datetime
import json
import os
import sys

from tencentcloud.cdb.v20170320 import cdb_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

# The sandbox is on loopback: never send its requests through a proxy.
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def client(target, secret_id, secret_key):
    http = HttpProfile(protocol="http", endpoint=target, reqTimeout=30)
    profile = ClientProfile(httpProfile=http)
    return cdb_client.CdbClient(
        credential.Credential(secret_id, secret_key), "ap-guangzhou", profile
    )


def request(model, params):
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def fail(message):
    print("UNEXPECTED: " + message)
    sys.exit(1)


def main():
    target, secret_id, secret_key, instance = sys.argv[1:5]
    cdb = client(target, secret_id, secret_key)

    rsp = cdb.DescribeRollbackRangeTime(
        request(models.DescribeRollbackRangeTimeRequest, {"InstanceIds": [instance]})
    )
    item = rsp.Items[0]
    if item.InstanceId != instance or item.Code != 0 or not item.Times:
        fail("range time: " + rsp.to_json_string())
    print(
        "DescribeRollbackRangeTime code=%d begin=%s end=%s"
        % (item.Code, item.Times[0].Begin, item.Times[0].End)
    )

    at = (datetime.datetime.utcnow() + datetime.timedelta(hours=7)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    rsp = cdb.StartBatchRollback(
        request(
            models.StartBatchRollbackRequest,
            {
                "Instances": [
                    {
                        "InstanceId": instance,
                        "Strategy": "table",
                        "RollbackTime": at,
                        "Tables": [
                            {
                                "Database": "orders",
                                "Table": [
                                    {"TableName": "payments", "NewTableName": "payments_bak"}
                                ],
                            }
                        ],
                    }
                ]
            },
        )
    )
    if not rsp.AsyncRequestId or not rsp.RequestId:
        fail("start: " + rsp.to_json_string())
    print("StartBatchRollback async=%s" % rsp.AsyncRequestId)

    rsp = cdb.DescribeRollbackTaskDetail(
        request(
            models.DescribeRollbackTaskDetailRequest,
            {"InstanceId": instance, "AsyncRequestId": rsp.AsyncRequestId, "Limit": 10},
        )
    )
    if rsp.TotalCount != 1 or not rsp.Items:
        fail("detail: " + rsp.to_json_string())
    task = rsp.Items[0]
    detail = task.Detail[0]
    print(
        "DescribeRollbackTaskDetail total=%d status=%s strategy=%s time=%s table=%s"
        % (
            rsp.TotalCount,
            task.Status,
            detail.Strategy,
            detail.RollbackTime == at,
            detail.Tables[0].Table[0].NewTableName,
        )
    )

    wrong = client(target, secret_id, "not-the-key")
    try:
        wrong.DescribeRollbackRangeTime(
            request(models.DescribeRollbackRangeTimeRequest, {"InstanceIds": [instance]})
        )
        fail("a wrong key was accepted")
    except TencentCloudSDKException as e:
        print("wrong key error=%s request_id=%s" % (e.get_code(), bool(e.get_request_id())))


if __name__ == "__main__":
    main()
