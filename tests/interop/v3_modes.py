"""Tencent's official API 3.0 SDK reads what the sandbox answers in its modes (issue 23).

Usage: v3_modes.py HOST:PORT SECRET_ID SECRET_KEY MODE INSTANCE [OTHER_INSTANCE]

MODE is what the sandbox was started with:
- removed: the instance's tasks end REMOVED;
- waiting: tasks wait (DescribeRollbackTaskDetail says UNDEFINED, DescribeTasks WAITING);
- ambiguous: asked for one request, the detail lists every task of it with an empty Detail;
- ignored-filter: the detail ignores the AsyncRequestId filter, oldest first;
- silent: the detail lists nothing (Items null);
- late: tasks are listed only later (nothing yet);
- injected: the documented codes the sandbox was told to answer first.

The SDK is used as any user would (a CdbClient on plain HTTP to the sandbox). Every answer
must load into the SDK's models: the SDK's own warnings about fields it does not know
("... fileds are useless") are counted and printed last, and each raw answer's top-level
fields are compared with the response model. One line per call; exit non-zero on the first
unexpected answer.
"""

import datetime
import json
import os
import sys
import time
import warnings

from tencentcloud.cdb.v20170320 import cdb_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

RESPONSES = {
    "DescribeRollbackTaskDetail": models.DescribeRollbackTaskDetailResponse,
    "DescribeTasks": models.DescribeTasksResponse,
    "DescribeAsyncRequestInfo": models.DescribeAsyncRequestInfoResponse,
    "StartBatchRollback": models.StartBatchRollbackResponse,
}


def fail(message):
    print("UNEXPECTED: " + message)
    sys.exit(1)


def call(cdb, action, params):
    """The action as the SDK's own method makes it (`cdb.call`, which raises the answer's
    error), its answer loaded into the SDK's response model as that method does; first, the
    answer's top-level fields are checked against the model (the SDK warns only below)."""
    raw = json.loads(cdb.call(action, params))["Response"]
    model = RESPONSES[action]()
    known = {name[1:] for name in vars(model)}
    extra = sorted(set(raw) - known)
    if extra:
        fail("%s answers fields its model lacks: %s" % (action, extra))
    model._deserialize(raw)
    return model


def rollback(instance, hours_ago):
    at = datetime.datetime.utcnow() + datetime.timedelta(hours=8 - hours_ago)
    return {
        "InstanceId": instance,
        "Strategy": "table",
        "RollbackTime": at.strftime("%Y-%m-%d %H:%M:%S"),
        "Tables": [
            {"Database": "orders", "Table": [{"TableName": "payments", "NewTableName": "payments_bak"}]}
        ],
    }


def start(cdb, instances, hours_ago=1):
    rsp = call(cdb, "StartBatchRollback", {"Instances": [rollback(i, hours_ago) for i in instances]})
    if not rsp.AsyncRequestId:
        fail("start: " + rsp.to_json_string())
    return rsp.AsyncRequestId


def detail(cdb, instance, request):
    params = {"InstanceId": instance, "AsyncRequestId": request, "Limit": 100}
    return call(cdb, "DescribeRollbackTaskDetail", params)


def tasks(cdb, instance):
    params = {"InstanceId": instance, "TaskTypes": [1, 10], "Limit": 100}
    return call(cdb, "DescribeTasks", params)


def until_ended(cdb, instance, request):
    """Polls the detail until the task is in a terminal state (bounded: 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rsp = detail(cdb, instance, request)
        items = rsp.Items or []
        if items and items[0].Status in ("SUCCESS", "FAILED", "KILLED", "REMOVED"):
            return items[0]
        time.sleep(0.05)
    fail("the task never ended")


def removed(cdb, instance, _other):
    request = start(cdb, [instance])
    task = until_ended(cdb, instance, request)
    print("detail status=%s" % task.Status)
    listed = [t for t in tasks(cdb, instance).Items or [] if t.AsyncRequestId == request]
    print("DescribeTasks status=%s" % ",".join(t.TaskStatus for t in listed))
    info = call(cdb, "DescribeAsyncRequestInfo", {"AsyncRequestId": request})
    print("DescribeAsyncRequestInfo status=%s" % info.Status)


def waiting(cdb, instance, _other):
    request = start(cdb, [instance])
    items = detail(cdb, instance, request).Items or []
    print("detail status=%s" % ",".join(t.Status for t in items))
    listed = [t for t in tasks(cdb, instance).Items or [] if t.AsyncRequestId == request]
    print("DescribeTasks status=%s" % ",".join(t.TaskStatus for t in listed))
    info = call(cdb, "DescribeAsyncRequestInfo", {"AsyncRequestId": request})
    print("DescribeAsyncRequestInfo status=%s" % info.Status)


def ambiguous(cdb, instance, other):
    request = start(cdb, [instance, other])
    rsp = detail(cdb, instance, request)
    items = rsp.Items or []
    print(
        "detail total=%d items=%d details=%s"
        % (rsp.TotalCount, len(items), ",".join(str(len(t.Detail or [])) for t in items))
    )


def ignored_filter(cdb, instance, _other):
    first = start(cdb, [instance], hours_ago=2)
    until_ended(cdb, instance, first)
    second = start(cdb, [instance], hours_ago=1)
    items = detail(cdb, instance, second).Items or []
    times = [t.Detail[0].RollbackTime for t in items if t.Detail]
    print("detail items=%d oldest_first=%s" % (len(items), times == sorted(times)))


def silent(cdb, instance, _other):
    request = start(cdb, [instance])
    rsp = detail(cdb, instance, request)
    # `Items` null or empty: the SDK allows both (and the sandbox answers either).
    print("detail total=%d items=%d" % (rsp.TotalCount, len(rsp.Items or [])))


def late(cdb, instance, _other):
    request = start(cdb, [instance])
    rsp = detail(cdb, instance, request)
    print("detail total=%d items=%d" % (rsp.TotalCount, len(rsp.Items or [])))
    rsp = tasks(cdb, instance)
    print("DescribeTasks total=%d items=%d" % (rsp.TotalCount, len(rsp.Items or [])))


def injected(cdb, instance, _other):
    """Each action's first answer is the injected code; the next is the plain answer."""

    def refused(action, params):
        try:
            call(cdb, action, params)
            fail("%s: no injected answer" % action)
        except TencentCloudSDKException as e:
            print("%s error=%s request_id=%s" % (action, e.get_code(), bool(e.get_request_id())))

    task_params = {"InstanceId": instance, "TaskTypes": [1, 10], "Limit": 100}
    refused("StartBatchRollback", {"Instances": [rollback(instance, 1)]})
    refused("DescribeRollbackTaskDetail", {"InstanceId": instance, "Limit": 100})
    refused("DescribeTasks", task_params)
    # The submission answered an error, yet its task exists (an answer proves nothing).
    listed = tasks(cdb, instance).Items or []
    print("after the injected submission: tasks=%d" % len(listed))
    request = {"AsyncRequestId": listed[0].AsyncRequestId}
    refused("DescribeAsyncRequestInfo", request)
    info = call(cdb, "DescribeAsyncRequestInfo", request)
    print("DescribeAsyncRequestInfo then status=%s" % info.Status)


MODES = {
    "removed": removed,
    "waiting": waiting,
    "ambiguous": ambiguous,
    "ignored-filter": ignored_filter,
    "silent": silent,
    "late": late,
    "injected": injected,
}


def main():
    target, secret_id, secret_key, mode, instance = sys.argv[1:6]
    other = sys.argv[6] if len(sys.argv) > 6 else None
    http = HttpProfile(protocol="http", endpoint=target, reqTimeout=30)
    cdb = cdb_client.CdbClient(
        credential.Credential(secret_id, secret_key), "ap-guangzhou", ClientProfile(httpProfile=http)
    )
    MODES[mode](cdb, instance, other)


if __name__ == "__main__":
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        main()
    useless = [str(w.message) for w in seen if "useless" in str(w.message)]
    print("unknown-field warnings=%d %s" % (len(useless), "; ".join(useless)))
