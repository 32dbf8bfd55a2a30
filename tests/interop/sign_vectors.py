"""Signs the cases read as JSON on stdin with the SDK's own Sign.make and prints the
signatures as a JSON list, so the Rust test can compare them with planrun's sign.rs.

Each case: {"host", "path", "method", "sign_method", "key", "params": [[k, v], ...]}.
"""

import json
import sys

from QcloudApi.common.sign import Sign


def main():
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        params = dict(case["params"])
        sign = Sign("unused-secret-id", case["key"])
        out.append(sign.make(case["host"], case["path"], params,
                             case["method"], case["sign_method"]))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
