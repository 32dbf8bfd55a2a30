//! Reading an API 3.0 JSON body: the top-level object, unknown names (UnknownParameter),
//! strings, integers and instance ids, each with the cloud's error code.

use serde_json::{Map, Value};

use super::super::config::Config;
use super::super::rules::valid_instance_id;
use super::answer::ApiError;

/// The parameters of one request, and the region it was sent to (`X-TC-Region`): an
/// instance exists only in its own region.
#[derive(Debug, Default)]
pub struct Body(pub Map<String, Value>, Option<String>);

impl Body {
    /// An empty body counts as `{}`; anything but a JSON object is InvalidParameter.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map, None)),
            Ok(_) => Err(ApiError::invalid("the request body must be a JSON object")),
            Err(e) => Err(ApiError::invalid(format!(
                "the request body is not JSON: {e}"
            ))),
        }
    }

    /// The same parameters, sent to `region`.
    pub fn in_region(self, region: Option<&str>) -> Self {
        Self(self.0, region.map(str::to_owned))
    }

    /// The region the request was sent to.
    pub fn region(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// UnknownParameter for the first name not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(name) => Err(ApiError::unknown_parameter(name)),
            None => Ok(()),
        }
    }

    /// A string parameter; `null` counts as absent.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<&str, ApiError> {
        self.string(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(name))
    }

    /// An integer in `min..=max`, `default` when absent.
    pub fn integer(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ApiError> {
        let n = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(default),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                ApiError::invalid(format!("{name} must be a non-negative integer"))
            })?,
            Some(_) => return Err(ApiError::invalid(format!("{name} must be an integer"))),
        };
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(ApiError::invalid_value(format!(
                "{name} must be from {min} to {max}, not {n}"
            )))
        }
    }

    /// A required instance id that has the `cdb-` shape and exists.
    pub fn instance(&self, config: &Config, name: &str) -> Result<&str, ApiError> {
        let id = self.required_string(name)?;
        existing_instance(config, name, id, self.region())?;
        Ok(id)
    }
}

/// InvalidParameterValue unless `id` has the `cdb-` shape.
pub fn instance_shape(what: &str, id: &str) -> Result<(), ApiError> {
    if valid_instance_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid_value(format!(
            "{what}: `{id}` is not an instance id (cdb- and 8 lowercase letters or digits)"
        )))
    }
}

/// InvalidParameterValue for a malformed id, the documented InvalidParameter.InstanceNotFound
/// for an instance missing in `region` (the request's).
pub fn existing_instance(
    config: &Config,
    what: &str,
    id: &str,
    region: Option<&str>,
) -> Result<(), ApiError> {
    instance_shape(what, id)?;
    if !config.exists(id, region) {
        return Err(ApiError::missing_instance(id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Body {
        Body::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(Body::parse(b"").is_ok());
        assert_eq!(
            Body::parse(b"[1]").map(|_| ()).map_err(|e| e.code),
            Err("InvalidParameter")
        );
        assert_eq!(
            Body::parse(b"{").map(|_| ()).map_err(|e| e.code),
            Err("InvalidParameter")
        );
    }

    #[test]
    fn each_bad_parameter_has_its_code() {
        let b = body(r#"{"InstanceId": 5, "Limit": 500, "Offset": -1, "X": null}"#);
        assert_eq!(
            b.only(&["InstanceId"]).map_err(|e| e.code),
            Err("UnknownParameter")
        );
        assert_eq!(
            b.string("InstanceId").map_err(|e| e.code),
            Err("InvalidParameter")
        );
        assert_eq!(
            b.required_string("Nope").map_err(|e| e.code),
            Err("MissingParameter")
        );
        assert_eq!(
            b.integer("Limit", 20, 1, 100).map_err(|e| e.code),
            Err("InvalidParameterValue")
        );
        assert_eq!(
            b.integer("Offset", 0, 0, u64::MAX).map_err(|e| e.code),
            Err("InvalidParameter")
        );
        assert_eq!(b.integer("Absent", 20, 1, 100).ok(), Some(20));
        assert_eq!(b.string("X").ok(), Some(None));
    }

    #[test]
    fn instances_must_be_shaped_and_exist() {
        let mut config = Config::demo();
        config.missing_instances.insert("cdb-ord00002".into());
        let code = |config: &Config, text: &str| {
            body(text)
                .instance(config, "InstanceId")
                .map(str::to_owned)
                .map_err(|e| e.code)
        };
        // A member of the fleet exists; a made-up id does not, as in the cloud.
        assert_eq!(
            code(&config, r#"{"InstanceId": "cdb-ord00001"}"#),
            Ok("cdb-ord00001".to_owned())
        );
        assert_eq!(
            code(&config, r#"{"InstanceId": "cdb-aaaaaaaa"}"#),
            Err("InvalidParameter.InstanceNotFound")
        );
        assert_eq!(
            code(&config, r#"{"InstanceId": "cdb-AAAA"}"#),
            Err("InvalidParameterValue")
        );
        assert_eq!(
            code(&config, r#"{"InstanceId": "cdb-ord00002"}"#),
            Err("InvalidParameter.InstanceNotFound")
        );
        assert_eq!(code(&config, "{}"), Err("MissingParameter"));
        // Only when told to does every well-formed id exist.
        config.any_instance = true;
        assert_eq!(
            code(&config, r#"{"InstanceId": "cdb-aaaaaaaa"}"#),
            Ok("cdb-aaaaaaaa".to_owned())
        );
    }
}
