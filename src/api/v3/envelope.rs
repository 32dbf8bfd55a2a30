//! API 3.0's answer envelope: `{"Response": {..., "RequestId"}}`, errors as
//! `Response.Error{Code, Message}` (HTTP 200 either way).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::error::{Error, excerpt};

/// The `Response` object of a successful answer, or [`Error::Cloud`] / [`Error::Decode`].
pub fn decode_response(action: &str, body: &str) -> Result<Value, Error> {
    let decode_err = |reason: &str| Error::Decode {
        action: action.to_owned(),
        reason: reason.to_owned(),
        excerpt: excerpt(body, 120),
    };
    let value: Value = serde_json::from_str(body).map_err(|_| decode_err("not JSON"))?;
    let Some(response) = value.get("Response").filter(|r| r.is_object()) else {
        return Err(decode_err("no Response object"));
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match response.get("Error") {
        None | Some(Value::Null) => Ok(response.clone()),
        Some(error) => {
            let code = text(error.get("Code"));
            Err(Error::Cloud {
                action: action.to_owned(),
                code: if code.is_empty() {
                    "UnknownError".to_owned()
                } else {
                    code
                },
                message: text(error.get("Message")),
                request_id: text(response.get("RequestId")),
            })
        }
    }
}

/// Reads a typed answer out of a `Response` object.
pub fn typed<T: DeserializeOwned>(action: &str, response: Value) -> Result<T, Error> {
    let shown = excerpt(&response.to_string(), 120);
    serde_json::from_value(response).map_err(|e| Error::Decode {
        action: action.to_owned(),
        reason: e.to_string(),
        excerpt: shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_returns_the_response_object() {
        let r = decode_response(
            "StopRollback",
            r#"{"Response":{"RequestId":"r1","AsyncRequestId":"a-1"}}"#,
        )
        .unwrap();
        assert_eq!(r["AsyncRequestId"], "a-1");
        assert_eq!(r["RequestId"], "r1");
    }

    #[test]
    fn error_carries_code_message_and_request_id() {
        let err = decode_response(
            "StartBatchRollback",
            r#"{"Response":{"Error":{"Code":"OperationDenied.InstanceTaskRunning",
                "Message":"a task is running"},"RequestId":"6EF60BEC"}}"#,
        )
        .unwrap_err();
        match &err {
            Error::Cloud {
                action,
                code,
                message,
                request_id,
            } => {
                assert_eq!(action, "StartBatchRollback");
                assert_eq!(code, "OperationDenied.InstanceTaskRunning");
                assert_eq!(message, "a task is running");
                assert_eq!(request_id, "6EF60BEC");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("6EF60BEC"));
    }

    #[test]
    fn null_error_fields_do_not_break_decoding() {
        let ok = decode_response("A", r#"{"Response":{"Error":null,"RequestId":null}}"#);
        assert!(ok.is_ok());
        let err = decode_response("A", r#"{"Response":{"Error":{"Code":null}}}"#).unwrap_err();
        assert_eq!(err.code_text().as_deref(), Some("UnknownError"));
        assert_eq!(err.request_id(), None);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        for body in [
            "",
            "<html>",
            "{}",
            r#"{"Response":null}"#,
            r#"{"Response":[1]}"#,
            "[]",
        ] {
            assert!(
                matches!(decode_response("A", body), Err(Error::Decode { .. })),
                "{body}"
            );
        }
    }
}
