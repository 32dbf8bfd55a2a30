//! Flags shared by every command that talks to the cloud API (`jobs`, `apply`, `status`), and
//! their translation into an [`api::ClientConfig`](crate::api::ClientConfig) and credentials.

use crate::api::credentials::{self, Credentials, Discovered};
use crate::api::v2::client::ClientConfig;
use crate::api::v2::sign::SignatureMethod;
pub use crate::engine::prepare::Generation;

/// `--api v2|v3`: the engine's [`Generation`], with the help text of each value.
impl clap::ValueEnum for Generation {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::V2, Self::V3]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            Self::V2 => {
                "API 2.0 at https://cdb.api.qcloud.com/v2/index.php (the seeds' protocol; retired by Tencent's public cloud in 2023)"
            }
            Self::V3 => {
                "API 3.0 at https://cdb.tencentcloudapi.com/ (TC3-HMAC-SHA256; what the cloud answers)"
            }
        };
        Some(clap::builder::PossibleValue::new(self.name()).help(help))
    }
}

/// `--signature-method` values, spelled as the API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignatureMethodArg {
    #[value(name = "HmacSHA1")]
    HmacSha1,
    #[value(name = "HmacSHA256")]
    HmacSha256,
}

impl From<SignatureMethodArg> for SignatureMethod {
    fn from(arg: SignatureMethodArg) -> Self {
        match arg {
            SignatureMethodArg::HmacSha1 => Self::HmacSha1,
            SignatureMethodArg::HmacSha256 => Self::HmacSha256,
        }
    }
}

/// Connection and pacing flags for API calls.
// The fields' docs are clap's help text, printed as written: `<PROFILE>` is a placeholder
// there, not HTML.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// API generation to speak (v3 is what Tencent's public cloud answers).
    #[arg(long, value_enum, default_value_t = Generation::V3)]
    pub api: Generation,
    /// API endpoint URL [default: the public endpoint of --api]
    #[arg(long, env = "PLANRUN_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region common parameter (e.g. ap-guangzhou); the real cloud requires it.
    #[arg(long, env = "TENCENTCLOUD_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Accept REGION although it is not in planrun's list of TencentDB for MySQL regions (a
    /// region opened after this planrun was made); repeatable.
    #[arg(long = "allow-region", value_name = "REGION")]
    pub allow_region: Vec<String>,
    /// tccli profile whose ~/.tccli/<PROFILE>.credential is read when neither the environment
    /// nor ~/.tencentcloud/credentials has credentials [default: $TCCLI_PROFILE, else default]
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// How API 2.0 requests are signed (API 3.0 always uses TC3-HMAC-SHA256).
    #[arg(long, value_enum, ignore_case = true, default_value_t = SignatureMethodArg::HmacSha256)]
    pub signature_method: SignatureMethodArg,
    /// At most R requests per second for every API action, per region. Without it, each
    /// action goes at the cloud's documented limit: 20/s, DescribeTables and
    /// DescribeAsyncRequestInfo 40/s, DescribeTasks and DescribeDBInstances 100/s. Set it
    /// when other tools share the account's budget.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
}

impl ApiArgs {
    /// `--endpoint`, or the default of `--api`.
    pub fn endpoint(&self) -> &str {
        self.endpoint
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| self.api.default_endpoint())
    }

    /// Credentials found the way Tencent's tools find them (environment, then
    /// `~/.tencentcloud/credentials`, then the tccli profile of `--profile`/`TCCLI_PROFILE`).
    pub fn credentials(&self) -> Result<Discovered, crate::api::Error> {
        credentials::discover_default(self.profile.as_deref())
    }

    /// The client configuration these flags describe (timeouts and retries at defaults).
    pub fn client_config(&self, credentials: Credentials) -> ClientConfig {
        let mut config = ClientConfig::new(
            self.endpoint(),
            self.region.clone().unwrap_or_default(),
            credentials,
        );
        config.signature_method = self.signature_method.into();
        config.rate_cap = self.rate;
        config.concurrency = self.concurrency as usize;
        config
    }
}

/// A `--region` (or `TENCENTCLOUD_REGION`) the cloud would refuse mid-run, said before
/// anything starts: the nearest names, and `--allow-region` for newer ones.
pub fn check_region_flag(region: &str, allowed: &[String]) -> Result<(), String> {
    use crate::plan::rules::region;
    region::check(region, allowed).map_err(|near| {
        format!(
            "--region {region:?} is not a TencentDB for MySQL region; {}",
            region::help(region, &near)
        )
    })
}

pub(super) fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => Ok(r),
        _ => Err(format!(
            "{text:?} is not a rate between 0 and 1000 requests per second"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ops::connect;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        api: ApiArgs,
    }

    fn parse(args: &[&str]) -> Result<ApiArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|c| c.api)
    }

    #[test]
    fn defaults_follow_the_design() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.api, Generation::V3);
        assert_eq!(a.profile, None);
        assert_eq!(a.signature_method, SignatureMethodArg::HmacSha256);
        assert_eq!(a.rate, None);
        assert_eq!(a.concurrency, 4);
        // PLANRUN_ENDPOINT may be set around the tests: only check the fallback when it is not.
        if std::env::var_os("PLANRUN_ENDPOINT").is_none() {
            assert_eq!(a.endpoint(), "https://cdb.tencentcloudapi.com/");
            let v2 = parse(&["--api", "v2"]).unwrap();
            assert_eq!(v2.endpoint(), crate::api::v2::client::DEFAULT_ENDPOINT);
        }
    }

    #[test]
    fn flags_reach_the_client_config() {
        let a = parse(&[
            "--endpoint",
            "http://127.0.0.1:9/v2/index.php",
            "--region",
            "ap-shanghai",
            "--signature-method",
            "HmacSHA1",
            "--rate",
            "2.5",
            "--concurrency",
            "7",
            "--profile",
            "prod",
        ])
        .unwrap();
        assert_eq!(a.profile.as_deref(), Some("prod"));
        let c = a.client_config(Credentials::new("id", "key"));
        assert_eq!(c.endpoint, "http://127.0.0.1:9/v2/index.php");
        assert_eq!(c.region, "ap-shanghai");
        assert_eq!(c.signature_method, SignatureMethod::HmacSha1);
        assert_eq!(c.rate_cap, Some(2.5));
        assert_eq!(c.rate_per_action, crate::api::limiter::CLOUD_RATE);
        assert_eq!(c.concurrency, 7);
    }

    #[test]
    fn the_api_flag_picks_the_protocol() {
        let config = || ClientConfig::new("http://127.0.0.1:9/", "gz", Credentials::new("i", "k"));
        let protocol = |a: ApiArgs| connect::protocol(a.api, config());
        let v3 = protocol(parse(&[]).unwrap()).unwrap();
        assert_eq!(v3.name(), "v3");
        assert!(v3.v3().is_some());
        let v2 = protocol(parse(&["--api", "v2"]).unwrap()).unwrap();
        assert_eq!(v2.name(), "v2");
        assert!(v2.v3().is_none());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["--api", "v4"][..],
            &["--signature-method", "md5"],
            &["--rate", "0"],
            &["--rate", "nan"],
            &["--concurrency", "0"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        assert!(parse(&["--signature-method", "hmacsha1"]).is_ok());
    }
}
