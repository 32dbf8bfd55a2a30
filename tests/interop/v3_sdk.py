"""Tencent's official API 3.0 SDK (tencentcloud-sdk-python-cdb) calls the sandbox.

Usage: v3_sdk.py HOST:PORT SECRET_ID SECRET_KEY INSTANCE_ID

The SDK is used as any user would: a CdbClient whose HttpProfile points at the sandbox
(plain HTTP on loopback, endpoint HOST:PORT, which the SDK also signs as the Host). It calls
DescribeRollbackRangeTime, StartBatchRollback (one table, one hour ago in +08:00) and
DescribeRollbackTaskDetail for the returned AsyncRequestId, DescribeTasks and
DescribeAsyncRequestInfo for it, then DescribeRollbackRangeTime with a wrong key. Prints one
line per call and exits non-zero on the first unexpected answer. Every answer must load into
the SDK's models without unknown fields: the SDK's own warnings ("... fileds are useless") are
recorded and counted, and the top-level fields of DescribeTasks and DescribeAsyncRequestInfo
are compared with their response models.
"""

import datetime
import json
import os
import sys
import warnings

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


def unknown_top(cdb, action, params, model):
    """Fails when the raw answer has a top-level field the response model does not know."""
    raw = json.loads(cdb.call(action, params))["Response"]
    known = {name[1:] for name in vars(model())}
    extra = sorted(set(raw) - known)
    if extra:
        fail("%s answers fields its model lacks: %s" % (action, extra))


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
    started_id = rsp.AsyncRequestId

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

    async_id = started_id
    params = {"InstanceId": instance, "TaskTypes": [1, 10], "Limit": 20}
    rsp = cdb.DescribeTasks(request(models.DescribeTasksRequest, params))
    tied = [t for t in rsp.Items or [] if t.AsyncRequestId == async_id]
    if rsp.TotalCount != 1 or not tied or tied[0].InstanceIds != [instance]:
        fail("tasks: " + rsp.to_json_string())
    print(
        "DescribeTasks total=%d type=%s status=%s instances=%s"
        % (rsp.TotalCount, tied[0].TaskType, tied[0].TaskStatus, ",".join(tied[0].InstanceIds))
    )
    unknown_top(cdb, "DescribeTasks", params, models.DescribeTasksResponse)

    params = {"AsyncRequestId": async_id}
    rsp = cdb.DescribeAsyncRequestInfo(request(models.DescribeAsyncRequestInfoRequest, params))
    if rsp.Status not in ("INITIAL", "RUNNING", "SUCCESS"):
        fail("async info: " + rsp.to_json_string())
    print("DescribeAsyncRequestInfo status=%s" % rsp.Status)
    unknown_top(cdb, "DescribeAsyncRequestInfo", params, models.DescribeAsyncRequestInfoResponse)
    try:
        cdb.DescribeAsyncRequestInfo(
            request(models.DescribeAsyncRequestInfoRequest, {"AsyncRequestId": "no-such-id"})
        )
        fail("an unknown AsyncRequestId was found")
    except TencentCloudSDKException as e:
        print("unknown request error=%s" % e.get_code())

    wrong = client(target, secret_id, "not-the-key")
    try:
        wrong.DescribeRollbackRangeTime(
            request(models.DescribeRollbackRangeTimeRequest, {"InstanceIds": [instance]})
        )
        fail("a wrong key was accepted")
    except TencentCloudSDKException as e:
        print("wrong key error=%s request_id=%s" % (e.get_code(), bool(e.get_request_id())))


if __name__ == "__main__":
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        main()
    useless = [str(w.message) for w in seen if "useless" in str(w.message)]
    print("unknown-field warnings=%d %s" % (len(useless), "; ".join(useless)))
