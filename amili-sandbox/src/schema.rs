//! Validating request bodies against the spec's JSON Schema (base floor), with errors that
//! name the item and the field (`payments[3].amount: "abc" is not of type "number"`, `corrections[1].date: …`).

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use crate::error::{ErrorDetail, SandboxError};
use crate::spec;

/// At most this many problems are reported for one request.
const MAX_ERRORS: usize = 100;
/// Messages are cut at this many characters (they may quote the offending value).
const MAX_MESSAGE_CHARS: usize = 300;

/// A compiled validator for one operation's request body.
pub(crate) struct RequestValidator {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestValidator").finish_non_exhaustive()
    }
}

impl RequestValidator {
    /// The validator for `operation_id`'s JSON request body, from the embedded spec.
    pub(crate) fn for_operation(operation_id: &str) -> Result<Self, SandboxError> {
        let schema = spec::request_body_schema(operation_id)?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| {
                SandboxError::Spec(format!("the {operation_id} schema does not compile: {e}"))
            })?;
        Ok(Self { validator })
    }

    /// `Ok` when `body` conforms, else every problem (up to a cap), in schema order.
    pub(crate) fn check(&self, body: &Value) -> Result<(), Vec<ErrorDetail>> {
        let errors: Vec<ErrorDetail> = self
            .validator
            .iter_errors(body)
            .take(MAX_ERRORS)
            .map(|error| describe(&error))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The request validators of the write operations.
#[derive(Debug)]
pub(crate) struct WriteSchemas {
    pub(crate) payments: RequestValidator,
    pub(crate) corrections: RequestValidator,
}

impl WriteSchemas {
    /// Both validators, from the embedded spec.
    pub(crate) fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            payments: RequestValidator::for_operation("CreatePayments")?,
            corrections: RequestValidator::for_operation("CreateCorrections")?,
        })
    }
}

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

/// Turns a validation error into an `ErrorDetail` naming the item and the field.
fn describe(error: &jsonschema::ValidationError<'_>) -> ErrorDetail {
    let mut steps: Vec<Step> = error
        .instance_path()
        .segments()
        .map(|segment| match segment {
            LocationSegment::Property(name) => Step::Key(name.into_owned()),
            LocationSegment::Index(index) => Step::Index(index),
        })
        .collect();
    let text = match error.kind() {
        ValidationErrorKind::Required { property } => {
            if let Some(name) = property.as_str() {
                steps.push(Step::Key(name.to_owned()));
            }
            "is required but missing".to_owned()
        }
        _ => error.to_string(),
    };
    // The item of a write body's one list (`payments`, `corrections`).
    let item = match steps.as_slice() {
        [Step::Key(_), Step::Index(index), ..] => Some(*index),
        _ => None,
    };
    let field_steps = if item.is_some() {
        &steps[2..]
    } else {
        &steps[..]
    };
    let field = (!field_steps.is_empty()).then(|| render(field_steps));
    let path = render(&steps);
    let message = if path.is_empty() {
        text
    } else {
        format!("{path}: {text}")
    };
    ErrorDetail {
        item,
        field,
        message: truncate(message),
    }
}

/// `payments[3].amount` style rendering of a path.
fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn truncate(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message;
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payment() -> Value {
        json!({
            "invoiceId": "4f163819-178d-470c-a246-d6768476a6ec",
            "type": "DIRECT_PAYMENT",
            "amount": 10.5,
            "currency": "NOK",
            "date": "2019-08-24T14:15:22.123Z",
            "description": "x",
            "uniqueSourcePaymentId": "p-1"
        })
    }

    #[test]
    fn valid_body_passes() {
        let validator = RequestValidator::for_operation("CreatePayments").unwrap();
        assert!(validator.check(&json!({"payments": [payment()]})).is_ok());
    }

    #[test]
    fn errors_name_item_and_field() {
        let validator = RequestValidator::for_operation("CreatePayments").unwrap();
        let mut bad = payment();
        bad["amount"] = json!("abc");
        let mut missing = payment();
        if let Some(map) = missing.as_object_mut() {
            map.remove("currency");
        }
        let mut bad_uuid = payment();
        bad_uuid["invoiceId"] = json!("nope");
        let body = json!({"payments": [payment(), bad, missing, bad_uuid]});
        let errors = validator.check(&body).unwrap_err();
        let brief: Vec<_> = errors
            .iter()
            .map(|e| (e.item, e.field.as_deref(), e.message.as_str()))
            .collect();
        assert!(brief.contains(&(
            Some(1),
            Some("amount"),
            r#"payments[1].amount: "abc" is not of type "number""#
        )));
        assert!(brief.contains(&(
            Some(2),
            Some("currency"),
            "payments[2].currency: is required but missing"
        )));
        assert!(
            brief
                .iter()
                .any(|(item, field, _)| *item == Some(3) && *field == Some("invoiceId"))
        );
    }

    #[test]
    fn root_errors_name_the_field() {
        let validator = RequestValidator::for_operation("CreatePayments").unwrap();
        let errors = validator.check(&json!({})).unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("payments"));
        assert_eq!(errors[0].item, None);
        let errors = validator.check(&json!({"payments": []})).unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("payments"));
        let errors = validator.check(&json!([1])).unwrap_err();
        assert_eq!(errors[0].field, None);
    }
}
