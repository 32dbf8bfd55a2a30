//! Checks every API 2.0 request as the cloud does, in its order: common parameters (4000),
//! SecretId (4104), signature (4100, HmacSHA1 or HmacSHA256 over the Host header as sent),
//! Timestamp window and Nonce reuse (4500), then the per-action rate limit (4400).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::api::v2::sign::{self, HttpMethod, SignatureMethod};

use super::answer::Rejection;
use super::config::Config;

/// The decoded parameters of one request, in the order they were sent.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text (a query string or a POST body).
    pub fn decode(text: &str) -> Self {
        Self(
            text.split('&')
                .filter(|part| !part.is_empty())
                .map(|part| match part.split_once('=') {
                    Some((k, v)) => (form_decode(k), form_decode(v)),
                    None => (form_decode(part), String::new()),
                })
                .collect(),
        )
    }

    /// The last value sent for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `+` is a space, `%XX` a byte; malformed escapes stay as they are (never a panic).
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// How long a used Nonce is remembered: longer than any Timestamp that can still pass.
const NONCE_MEMORY: Duration = Duration::from_secs(900);

/// Replay and rate state shared by all requests.
#[derive(Debug, Default)]
pub struct Verifier {
    nonces: HashMap<(String, String), Instant>,
    /// Admitted requests of the last second, by access region and action.
    windows: HashMap<(String, String), VecDeque<Instant>>,
}

/// What the checks need to know about the HTTP request itself.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub method: HttpMethod,
    pub host: &'a str,
    pub path: &'a str,
}

impl Verifier {
    /// Authenticates the request; returns its `Action`.
    pub fn authenticate<'p>(
        &mut self,
        config: &Config,
        envelope: Envelope<'_>,
        params: &'p Params,
        now_unix: i64,
        now: Instant,
    ) -> Result<&'p str, Rejection> {
        let required = |key: &str| {
            params
                .get(key)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Rejection::bad_common_param(format!("missing parameter {key}")))
        };
        let action = required("Action")?;
        if config.require_region {
            required("Region")?;
        }
        let timestamp = required("Timestamp")?;
        let nonce = required("Nonce")?;
        let secret_id = required("SecretId")?;
        let signature = required("Signature")?;
        let method = match params.get("SignatureMethod") {
            None => SignatureMethod::HmacSha1,
            Some(name) => SignatureMethod::parse(name).ok_or_else(|| {
                Rejection::bad_common_param(format!("unsupported SignatureMethod {name}"))
            })?,
        };
        let timestamp: i64 = timestamp
            .parse()
            .map_err(|_| Rejection::bad_common_param("Timestamp is not a number"))?;

        let key = config
            .secret_key(secret_id)
            .ok_or_else(Rejection::unknown_secret_id)?;
        let text = sign::string_to_sign(envelope.method, envelope.host, envelope.path, &params.0);
        let expected = sign::signature(key, method, &text);
        if !crate::api::mac::signatures_match(&expected, signature) {
            return Err(Rejection::signature("signature verification failed"));
        }

        if (now_unix - timestamp).abs() > config.timestamp_window_seconds {
            return Err(Rejection::replay(format!(
                "Timestamp {timestamp} is more than {} seconds from the server's clock",
                config.timestamp_window_seconds
            )));
        }
        self.nonces
            .retain(|_, seen| now.saturating_duration_since(*seen) < NONCE_MEMORY);
        let nonce_key = (secret_id.to_owned(), nonce.to_owned());
        if self.nonces.contains_key(&nonce_key) {
            return Err(Rejection::replay(format!("Nonce {nonce} was already used")));
        }
        self.nonces.insert(nonce_key, now);
        Ok(action)
    }

    /// The per-action limit: at most the action's share of `rate` ([`action_limit`])
    /// admitted requests in any sliding second, counted apart for each access region
    /// (`region`: API 3.0's `X-TC-Region`, which the cloud's regional endpoints stand for;
    /// `""` for API 2.0, whose limits are not documented per region).
    pub fn admit(
        &mut self,
        (region, action): (&str, &str),
        rate: u32,
        now: Instant,
    ) -> Result<(), Rejection> {
        let rate = action_limit(action, rate);
        let key = (region.to_owned(), action.to_owned());
        let window = self.windows.entry(key).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= rate as usize {
            return Err(Rejection::rate_limited(action, rate));
        }
        window.push_back(now);
        Ok(())
    }
}

/// The requests per second the sandbox accepts for `action` at `rate` per action: the
/// cloud's documented proportion (DescribeAsyncRequestInfo twice the others).
pub fn action_limit(action: &str, rate: u32) -> u32 {
    (f64::from(rate) * crate::api::limiter::documented_share(action)).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::config::{DEMO_SECRET_ID, DEMO_SECRET_KEY};

    const NOW: i64 = 1_700_000_000;

    fn signed(method: SignatureMethod, http: HttpMethod, nonce: &str, ts: i64) -> Params {
        let mut pairs: Vec<(String, String)> = [
            ("Action", "GetCdbRollbackJob"),
            ("Region", "gz"),
            ("SecretId", DEMO_SECRET_ID),
            ("SignatureMethod", method.as_str()),
            ("cdbInstanceId", "cdb-aaaaaaaa"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        pairs.push(("Nonce".into(), nonce.into()));
        pairs.push(("Timestamp".into(), ts.to_string()));
        let text = sign::string_to_sign(http, "127.0.0.1:9", "/v2/index.php", &pairs);
        pairs.push((
            "Signature".into(),
            sign::signature(DEMO_SECRET_KEY, method, &text),
        ));
        Params(pairs)
    }

    fn env(method: HttpMethod) -> Envelope<'static> {
        Envelope {
            method,
            host: "127.0.0.1:9",
            path: "/v2/index.php",
        }
    }

    fn check(v: &mut Verifier, params: &Params, method: HttpMethod) -> Result<String, i64> {
        v.authenticate(&Config::demo(), env(method), params, NOW, Instant::now())
            .map(str::to_owned)
            .map_err(|r| r.code)
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_garbage() {
        let p = Params::decode("a=1+2&b=%7B%22x%22%3A1%7D&c=%zz&d&e=50%");
        assert_eq!(p.get("a"), Some("1 2"));
        assert_eq!(p.get("b"), Some(r#"{"x":1}"#));
        assert_eq!(p.get("c"), Some("%zz"));
        assert_eq!(p.get("d"), Some(""));
        assert_eq!(p.get("e"), Some("50%"));
    }

    #[test]
    fn both_methods_verify_over_get_and_post() {
        let mut v = Verifier::default();
        for (i, m) in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256]
            .into_iter()
            .enumerate()
        {
            for (j, h) in [HttpMethod::Get, HttpMethod::Post].into_iter().enumerate() {
                let p = signed(m, h, &format!("{i}{j}"), NOW);
                assert_eq!(check(&mut v, &p, h), Ok("GetCdbRollbackJob".into()));
            }
        }
    }

    #[test]
    fn signature_over_the_other_method_is_rejected() {
        let p = signed(SignatureMethod::HmacSha256, HttpMethod::Get, "1", NOW);
        assert_eq!(
            check(&mut Verifier::default(), &p, HttpMethod::Post),
            Err(4100)
        );
    }

    #[test]
    fn missing_signature_method_means_hmac_sha1() {
        let mut pairs = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "1", NOW).0;
        pairs.retain(|(k, _)| k != "SignatureMethod" && k != "Signature");
        let text = sign::string_to_sign(HttpMethod::Get, "127.0.0.1:9", "/v2/index.php", &pairs);
        let sig = sign::signature(DEMO_SECRET_KEY, SignatureMethod::HmacSha1, &text);
        pairs.push(("Signature".into(), sig));
        assert!(check(&mut Verifier::default(), &Params(pairs), HttpMethod::Get).is_ok());
    }

    #[test]
    fn stale_timestamp_and_reused_nonce_are_replays() {
        let mut v = Verifier::default();
        let old = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "1", NOW - 301);
        assert_eq!(check(&mut v, &old, HttpMethod::Get), Err(4500));
        let ahead = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "2", NOW + 301);
        assert_eq!(check(&mut v, &ahead, HttpMethod::Get), Err(4500));
        let edge = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "3", NOW - 300);
        assert!(check(&mut v, &edge, HttpMethod::Get).is_ok());
        assert_eq!(check(&mut v, &edge, HttpMethod::Get), Err(4500));
    }

    #[test]
    fn region_is_required_unless_switched_off() {
        let mut pairs = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "1", NOW).0;
        pairs.retain(|(k, _)| k != "Region" && k != "Signature");
        let text = sign::string_to_sign(HttpMethod::Get, "127.0.0.1:9", "/v2/index.php", &pairs);
        let sig = sign::signature(DEMO_SECRET_KEY, SignatureMethod::HmacSha1, &text);
        pairs.push(("Signature".into(), sig));
        let p = Params(pairs);
        assert_eq!(
            check(&mut Verifier::default(), &p, HttpMethod::Get),
            Err(4000)
        );
        let lenient = Config {
            require_region: false,
            ..Config::demo()
        };
        let env = env(HttpMethod::Get);
        let got = Verifier::default().authenticate(&lenient, env, &p, NOW, Instant::now());
        assert!(got.is_ok(), "{got:?}");
    }

    #[test]
    fn unknown_secret_id_and_missing_params_are_rejected() {
        let mut p = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "1", NOW);
        p.0.retain(|(k, _)| k != "Nonce");
        assert_eq!(
            check(&mut Verifier::default(), &p, HttpMethod::Get),
            Err(4000)
        );
        let mut p = signed(SignatureMethod::HmacSha1, HttpMethod::Get, "1", NOW);
        p.0.push(("SecretId".into(), "AKIDnobody".into()));
        assert_eq!(
            check(&mut Verifier::default(), &p, HttpMethod::Get),
            Err(4104)
        );
    }

    #[test]
    fn rate_window_slides_per_action() {
        let mut v = Verifier::default();
        let t0 = Instant::now();
        assert!(v.admit(("", "A"), 2, t0).is_ok());
        assert!(v.admit(("", "A"), 2, t0).is_ok());
        assert_eq!(v.admit(("", "A"), 2, t0).map_err(|r| r.code), Err(4400));
        assert!(
            v.admit(("", "B"), 2, t0).is_ok(),
            "another action has its own window"
        );
        assert!(
            v.admit(("ap-shanghai", "A"), 2, t0).is_ok(),
            "another region has its own window"
        );
        assert!(
            v.admit(("", "A"), 2, t0 + Duration::from_millis(1000))
                .is_ok()
        );
        // DescribeTables is documented at twice the 20/s actions.
        for _ in 0..4 {
            assert!(v.admit(("gz", "DescribeTables"), 2, t0).is_ok());
        }
        let fifth = v.admit(("gz", "DescribeTables"), 2, t0);
        assert_eq!(fifth.map_err(|r| r.code), Err(4400));
    }
}
