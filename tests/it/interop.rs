//! Interop with Tencent's own code: the legacy Python SDK (qcloudapi-sdk-python 2.0.15) and the
//! official API 3.0 SDK (tencentcloud-sdk-python-cdb 3.1.192) call an in-process sandbox.
//! Needs `.venv` from `.ci/python-env` (or `PLANRUN_PYTHON` pointing at an interpreter with
//! both SDKs); without it the tests fail, they never skip.

use std::net::SocketAddr;
use std::path::PathBuf;

use planrun::sandbox::{self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY, Sandbox};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PLANRUN_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with Tencent's SDK at {}: run `.ci/python-env` first (or set PLANRUN_PYTHON)",
        venv.display()
    );
    venv
}

/// Runs the SDKs' Python with `args` (and `stdin`), asserts it succeeded, returns its stdout.
fn python_run(args: &[String], stdin: Option<Vec<u8>>) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let python = python();
    let mut child = Command::new(&python)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run `.ci/python-env` first",
                python.display()
            )
        });
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(&bytes).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `tests/interop/SCRIPT` against the demo sandbox `sb` (its address and demo credentials,
/// then `extra`), run off the runtime's workers so that the sandbox can answer; its stdout.
pub(crate) async fn sdk_script(sb: &Sandbox, script: &str, extra: &[&str]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(script);
    let mut args = vec![path.display().to_string(), sb.addr().to_string()];
    args.extend(
        [DEMO_SECRET_ID, DEMO_SECRET_KEY]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || python_run(&args, None))
        .await
        .unwrap_or_else(|e| panic!("join: {e}"))
}

/// The demo sandbox on a free loopback port.
async fn demo_sandbox() -> Sandbox {
    sandbox::start(
        Config {
            any_instance: true,
            ..Config::demo()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

#[tokio::test]
async fn tencents_python_sdk_is_accepted_with_both_methods_and_rejected_with_a_wrong_key() {
    let sb = demo_sandbox().await;
    let stdout = sdk_script(&sb, "v2_sign.py", &[]).await;
    for line in [
        "GET HmacSHA1 GetCdbRollbackJob code=0",
        "POST HmacSHA256 RollbackCdbDatabaseTables code=0",
        "POST HmacSHA1 GetCdbRollbackJob code=0",
        "GET HmacSHA256 GetCdbRollbackJob code=0",
        "GET HmacSHA1 GetCdbRollbackJob code=4100",
        "POST HmacSHA256 RollbackCdbDatabaseTables code=4100",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    // The SDK's submission created a task the later reads saw.
    assert!(stdout.contains("tasks=1"), "{stdout}");
    let counters = sb.counters();
    assert_eq!(counters.accepted_submissions.get("cdb-mo64xu70"), Some(&1));
    assert_eq!(counters.rejections_per_code.get(&4100), Some(&2));
    assert_eq!(counters.rejections_per_code.len(), 1, "{counters:?}");
    sb.shutdown().await;
}

/// planrun's `sign.rs` and the SDK's `Sign.make` give the same signature for the same input: the
/// `docs/api-facts.md` vectors plus awkward keys and values (underscores, case, `&`, `=`, `+`,
/// spaces, non-ASCII, a host with a port).
#[test]
fn sign_rs_agrees_with_the_sdks_signer() {
    use planrun::api::v2::sign::{self, HttpMethod, SignatureMethod};

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    let common = [
        ("Action", "RollbackCdbDatabaseTables"),
        ("Nonce", "11886"),
        ("Region", "gz"),
        ("RequestClient", "SDK_PYTHON_2.0.15"),
        ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
        ("Timestamp", "1465185768"),
        ("instances.0.cdbInstanceId", "cdb-mo64xu70"),
        (
            "instances.0.para",
            r#"{"rollbacktime":"2016-10-31 12:00:00","dbs":[{"dbname":"db1","newname":"db1_bak"}]}"#,
        ),
    ];
    let awkward = [
        ("Action", "GetCdbRollbackJob"),
        ("a_b_c", "x&y=z"),
        ("Zeta", "plus+sign and space"),
        ("alpha", "数据库"),
        ("Alpha", "upper before lower"),
        ("limit", "100"),
    ];
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (params, host) in [
        (&common[..], "cdb.api.qcloud.com"),
        (&awkward[..], "127.0.0.1:8080"),
    ] {
        for method in [HttpMethod::Get, HttpMethod::Post] {
            for sig in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
                let mut pairs: Vec<(String, String)> = params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                pairs.push(("SignatureMethod".into(), sig.as_str().into()));
                let text = sign::string_to_sign(method, host, "/v2/index.php", &pairs);
                expected.push(sign::signature(KEY, sig, &text));
                cases.push(serde_json::json!({
                    "host": host, "path": "/v2/index.php", "method": method.as_str(),
                    "sign_method": sig.as_str(), "key": KEY, "params": pairs,
                }));
            }
        }
    }
    // The two `docs/api-facts.md` vectors (HmacSHA256, GET and POST) are among them.
    assert!(expected.contains(&"CBAZdqH3pt7GNbYdNaoXmzGnmBPopdjNmVRvlnMyHt0=".to_owned()));
    assert!(expected.contains(&"TmcE13viM9G81VeBztwXVnva/TESlY0Or30BBSuuSwg=".to_owned()));

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sign_vectors.py");
    let stdin = serde_json::Value::from(cases).to_string().into_bytes();
    let stdout = python_run(&[script.display().to_string()], Some(stdin));
    let sdk: Vec<String> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sdk, expected);
}

/// Tencent's official API 3.0 SDK (`tencentcloud-sdk-python-cdb`, from `.ci/python-env`)
/// signs TC3 requests that the sandbox accepts for StartBatchRollback,
/// DescribeRollbackTaskDetail, DescribeRollbackRangeTime, DescribeTasks and
/// DescribeAsyncRequestInfo, whose answers load into the SDK's models without unknown fields;
/// a wrong key gets `AuthFailure.SignatureFailure`.
#[tokio::test]
async fn tencents_v3_sdk_calls_the_sandbox_and_a_wrong_key_fails_its_signature() {
    let sb = demo_sandbox().await;
    let stdout = sdk_script(&sb, "v3_sdk.py", &["cdb-mo64xu70"]).await;
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("DescribeRollbackRangeTime ").starts_with("DescribeRollbackRangeTime code=0 begin=")
    );
    let started = line("StartBatchRollback async=");
    assert_eq!(
        started.len(),
        "StartBatchRollback async=".len() + 35,
        "{started}"
    );
    let detail = line("DescribeRollbackTaskDetail ");
    assert!(
        detail.starts_with("DescribeRollbackTaskDetail total=1 status=")
            && detail.ends_with(" strategy=table time=True table=payments_bak"),
        "{detail}"
    );
    assert_eq!(
        line("wrong key "),
        "wrong key error=AuthFailure.SignatureFailure request_id=True"
    );
    let tasks = line("DescribeTasks ");
    assert!(
        tasks.starts_with("DescribeTasks total=1 type=BATCH ROLLBACK status=")
            && tasks.ends_with(" instances=cdb-mo64xu70"),
        "{tasks}"
    );
    assert!(
        line("DescribeAsyncRequestInfo status=").len() > "DescribeAsyncRequestInfo status=".len()
    );
    assert_eq!(
        line("unknown request "),
        "unknown request error=InvalidParameter.InvalidAsyncRequestId"
    );
    // Every answer loaded into the SDK's models without a field the SDK does not know.
    assert_eq!(line("unknown-field warnings="), "unknown-field warnings=0 ");
    let counters = sb.counters();
    assert_eq!(counters.accepted_submissions.get("cdb-mo64xu70"), Some(&1));
    assert_eq!(
        counters
            .rejections_per_error
            .get("AuthFailure.SignatureFailure"),
        Some(&1)
    );
    assert_eq!(
        counters
            .rejections_per_error
            .get("InvalidParameter.InvalidAsyncRequestId"),
        Some(&1)
    );
    assert_eq!(counters.rejections_per_error.len(), 2, "{counters:?}");
    sb.shutdown().await;
}

/// Every code of the official SDK's `tencentcloud/cdb/v20170320/errorcodes.py` is classified
/// on purpose: listed in planrun's table or of a family the table defines, never left to the
/// fallback for undocumented codes.
#[test]
fn every_code_of_the_sdks_errorcodes_py_is_classified_on_purpose() {
    use planrun::api::error::{Origin, rule_v3};
    let printed = python_run(
        &[
            "-c".to_owned(),
            "import tencentcloud.cdb.v20170320.errorcodes as m; print(m.__file__)".to_owned(),
        ],
        None,
    );
    let path = printed.trim().to_owned();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Lines like `INTERNALERROR_UNKNOWNERROR = 'InternalError.UnknownError'`.
    let codes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" = '"))
        .filter(|(name, _)| name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .filter_map(|(_, rest)| rest.strip_suffix('\''))
        .collect();
    assert!(
        codes.len() > 150,
        "only {} codes read from {path}",
        codes.len()
    );
    let unclassified: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|c| rule_v3(c).origin == Origin::Fallback)
        .collect();
    assert!(
        unclassified.is_empty(),
        "codes of {path} that fall to the fallback: {unclassified:?}"
    );
    // The ones `docs/api-facts.md` names are listed by name, not left to their family.
    for code in [
        "CdbError.TaskError",
        "FailedOperation.StatusConflict",
        "InternalError.DatabaseAccessError",
        "InternalError.UnknownError",
        "InvalidParameter.InstanceNotFound",
        "InvalidParameter.InvalidAsyncRequestId",
        "OperationDenied.WrongStatus",
        "OperationDenied.UserHasNoStrategy",
        "OverQuota",
    ] {
        assert!(codes.contains(&code), "{code} is not in {path}");
        assert_eq!(rule_v3(code).origin, Origin::Listed, "{code}");
    }
}

/// The official API 3.0 SDK reads the sandbox's catalog: DescribeDBInstances with its `Tags`
/// filter (`Tag{Key, Value}`) and `TagList` answer (`{TagKey, TagValue}`), DescribeDatabases
/// (`Items` and `DatabaseList`) and DescribeTables, also of a database it does not hold.
#[tokio::test]
async fn tencents_v3_sdk_lists_the_fleet_databases_and_tables() {
    let sb = demo_sandbox().await;
    let stdout = sdk_script(&sb, "v3_catalog.py", &[]).await;
    // The orders fleet of ap-guangzhou: six primaries and the read-only replica (type 3).
    let ids = (1..=6)
        .map(|n| format!("cdb-ord0000{n}"))
        .chain(std::iter::once("cdb-ordro001".to_owned()))
        .collect::<Vec<_>>()
        .join(",");
    let expected = [
        format!("DescribeDBInstances total=7 ids={ids} types=1,1,1,1,1,1,3"),
        "DescribeDatabases total=10 orders=True".to_owned(),
        "DescribeTables total=4 items=invoices,order_items,payments,refunds".to_owned(),
        // A database the instance does not hold: no tables, no error (as the SDK models it).
        "DescribeTables no_such_db total=0 items=0".to_owned(),
    ];
    for line in &expected {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    let counters = sb.counters();
    assert!(counters.rejections_per_error.is_empty(), "{counters:?}");
    sb.shutdown().await;
}
