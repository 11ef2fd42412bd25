//! The OpenAPI description the sandbox validates against, turned into JSON Schema (base
//! floor).
//!
//! The spec (OpenAPI 3.0.3) is embedded at compile time from `openapi.yaml`, which the crate
//! ships (in the repository a symlink to `openapi/autocollect.yaml`, the one hand-maintained
//! copy), so the sandbox works for downstream users without the repository on disk. OpenAPI 3.0 schema
//! objects are a dialect of JSON Schema; [`component_schema`] turns one into a JSON Schema
//! (draft 2020-12) document:
//!
//! - `#/components/schemas/X` references become `#/$defs/X`, with every component in `$defs`;
//! - `nullable: true` becomes a type union with `"null"` (or an `anyOf` with `{"type":"null"}`);
//! - OpenAPI-only keywords (`example`, `discriminator`, `xml`, `externalDocs`, `x-*`) are dropped;
//! - draft-4 style boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers.
//!
//! Property names are never touched, only keywords, so a property called `example` survives.

use serde_json::{Map, Value, json};

use crate::error::SandboxError;

/// The embedded OpenAPI description (YAML), exactly as in the workspace's
/// `openapi/autocollect.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// The embedded OpenAPI description parsed into JSON.
///
/// # Errors
///
/// [`SandboxError::Spec`] if the embedded YAML does not parse (a defect of the crate; its
/// tests parse it).
pub fn openapi() -> Result<Value, SandboxError> {
    serde_norway::from_str(OPENAPI_YAML).map_err(|e| {
        SandboxError::Spec(format!(
            "the embedded OpenAPI description does not parse: {e}"
        ))
    })
}

/// A JSON Schema (draft 2020-12) document for the spec component `name`
/// (`#/components/schemas/{name}`), with every component available under `$defs`.
///
/// ```
/// let schema = amili_sandbox::spec::component_schema("CreatePaymentsRequest").unwrap();
/// assert_eq!(schema["$ref"], "#/$defs/CreatePaymentsRequest");
/// ```
///
/// # Errors
///
/// [`SandboxError::Spec`] if the spec has no component schema `name`.
pub fn component_schema(name: &str) -> Result<Value, SandboxError> {
    let spec = openapi()?;
    document_for(&spec, json!({ "$ref": format!("#/$defs/{name}") })).and_then(|doc| {
        if doc["$defs"].get(name).is_some() {
            Ok(doc)
        } else {
            Err(SandboxError::Spec(format!("the spec has no schema {name}")))
        }
    })
}

/// The JSON Schema of the JSON request body of the operation `operation_id`.
///
/// # Errors
///
/// [`SandboxError::Spec`] if the spec has no operation `operation_id` or that operation has
/// no `application/json` request body.
pub fn request_body_schema(operation_id: &str) -> Result<Value, SandboxError> {
    let spec = openapi()?;
    let operation = find_operation(&spec, operation_id)
        .ok_or_else(|| SandboxError::Spec(format!("the spec has no operation {operation_id}")))?;
    let schema = operation
        .pointer("/requestBody/content/application~1json/schema")
        .ok_or_else(|| {
            SandboxError::Spec(format!(
                "{operation_id} has no application/json request body"
            ))
        })?;
    document_for(&spec, schema.clone())
}

/// A JSON Schema document for any OpenAPI schema object of the spec (inline or a `$ref`),
/// with every component available under `$defs`. Used to check the spec's own examples.
///
/// ```
/// let doc = amili_sandbox::spec::schema_document(&serde_json::json!({"type": "string", "nullable": true})).unwrap();
/// assert_eq!(doc["type"], serde_json::json!(["string", "null"]));
/// ```
///
/// # Errors
///
/// [`SandboxError::Spec`] if the spec has no `components.schemas` to put under `$defs`.
pub fn schema_document(schema: &Value) -> Result<Value, SandboxError> {
    document_for(&openapi()?, schema.clone())
}

/// Wraps `root` (an OpenAPI schema object) into a JSON Schema document with all components.
fn document_for(spec: &Value, root: Value) -> Result<Value, SandboxError> {
    let components = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or_else(|| SandboxError::Spec("the spec has no components.schemas".into()))?;
    let defs: Map<String, Value> = components
        .iter()
        .map(|(name, schema)| (name.clone(), convert(schema)))
        .collect();
    let mut doc = match convert(&root) {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("allOf".into(), Value::Array(vec![other]));
            map
        }
    };
    doc.insert(
        "$schema".into(),
        Value::String("https://json-schema.org/draft/2020-12/schema".into()),
    );
    doc.insert("$defs".into(), Value::Object(defs));
    Ok(Value::Object(doc))
}

/// The operation object whose `operationId` is `operation_id`.
fn find_operation<'a>(spec: &'a Value, operation_id: &str) -> Option<&'a Value> {
    spec.get("paths")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
}

/// Converts one OpenAPI 3.0 schema object into JSON Schema 2020-12.
pub(crate) fn convert(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    let mut nullable = false;
    for (key, value) in object {
        match key.as_str() {
            "nullable" => nullable = value.as_bool() == Some(true),
            "example" | "discriminator" | "xml" | "externalDocs" => {}
            k if k.starts_with("x-") => {}
            "$ref" => {
                let reference = value.as_str().unwrap_or_default();
                let converted = reference
                    .strip_prefix("#/components/schemas/")
                    .map(|name| format!("#/$defs/{name}"))
                    .unwrap_or_else(|| reference.to_owned());
                out.insert(key.clone(), Value::String(converted));
            }
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                let converted = value
                    .as_object()
                    .map(|map| {
                        Value::Object(
                            map.iter()
                                .map(|(name, schema)| (name.clone(), convert(schema)))
                                .collect(),
                        )
                    })
                    .unwrap_or_else(|| value.clone());
                out.insert(key.clone(), converted);
            }
            "items" | "additionalProperties" | "not" | "propertyNames" | "contains" => {
                out.insert(key.clone(), convert(value));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let converted = value
                    .as_array()
                    .map(|list| Value::Array(list.iter().map(convert).collect()))
                    .unwrap_or_else(|| value.clone());
                out.insert(key.clone(), converted);
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    fix_exclusive(&mut out, "exclusiveMinimum", "minimum");
    fix_exclusive(&mut out, "exclusiveMaximum", "maximum");
    if nullable {
        make_nullable(out)
    } else {
        Value::Object(out)
    }
}

/// OpenAPI 3.0 (draft 4) `exclusiveMinimum: true` + `minimum: n` → 2020-12 `exclusiveMinimum: n`.
fn fix_exclusive(out: &mut Map<String, Value>, exclusive: &str, bound: &str) {
    match out.get(exclusive) {
        Some(Value::Bool(true)) => {
            if let Some(limit) = out.remove(bound) {
                out.insert(exclusive.to_owned(), limit);
            } else {
                out.remove(exclusive);
            }
        }
        Some(Value::Bool(false)) => {
            out.remove(exclusive);
        }
        _ => {}
    }
}

/// Lets a converted schema also accept `null`.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    match out.get("type").cloned() {
        Some(Value::String(kind)) => {
            out.insert("type".into(), json!([kind, "null"]));
            if let Some(Value::Array(values)) = out.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
            Value::Object(out)
        }
        Some(Value::Array(mut kinds)) => {
            if !kinds.contains(&json!("null")) {
                kinds.push(json!("null"));
            }
            out.insert("type".into(), Value::Array(kinds));
            Value::Object(out)
        }
        _ => json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_refs_nullable_and_drops_openapi_keywords() {
        let schema = json!({
            "type": "object",
            "x-assumption": true,
            "example": {"a": 1},
            "properties": {
                "example": {"type": "string", "nullable": true, "example": "x"},
                "x-thing": {"$ref": "#/components/schemas/Thing"},
                "other": {"$ref": "#/components/schemas/Thing", "nullable": true},
                "n": {"type": "number", "minimum": 0, "exclusiveMinimum": true}
            }
        });
        let converted = convert(&schema);
        assert_eq!(
            converted,
            json!({
                "type": "object",
                "properties": {
                    "example": {"type": ["string", "null"]},
                    "x-thing": {"$ref": "#/$defs/Thing"},
                    "other": {"anyOf": [{"$ref": "#/$defs/Thing"}, {"type": "null"}]},
                    "n": {"type": "number", "exclusiveMinimum": 0}
                }
            })
        );
    }

    #[test]
    fn the_embedded_spec_yields_the_request_schema() {
        let doc = request_body_schema("CreatePayments").unwrap();
        assert_eq!(doc["$ref"], "#/$defs/CreatePaymentsRequest");
        assert_eq!(
            doc["$defs"]["Summary"]["properties"]["nextPageToken"]["type"],
            json!(["string", "null"])
        );
        assert!(component_schema("NoSuchThing").is_err());
    }
}
