//! Reads the spec's examples and validates them with JSON Schema, independently of the
//! generated code.

use serde_json::{Map, Value};

/// One `example` found in the spec: where, the value, and the schema it must satisfy.
pub struct SpecExample {
    /// "CreatePayments request", "GetBatchById 200", "schema Amount", …
    pub location: String,
    pub value: Value,
    pub schema: Value,
}

pub struct Spec {
    doc: Value,
}

impl Spec {
    pub fn load() -> Result<Self, String> {
        let path = amili_codegen::crate_spec_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self { doc })
    }

    /// Every `example` on a media type, a parameter or a named schema.
    pub fn examples(&self) -> Vec<SpecExample> {
        let mut found = Vec::new();
        let methods = ["get", "put", "post", "delete", "patch"];
        for item in self.doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(Map::values)
        {
            for method in methods {
                let Some(op) = item.get(method) else { continue };
                let id = op["operationId"].as_str().unwrap_or("?");
                for param in op["parameters"].as_array().into_iter().flatten() {
                    let param = self.resolve(param);
                    if let Some(example) = param.get("example") {
                        found.push(SpecExample {
                            location: format!(
                                "{id} parameter {}",
                                param["name"].as_str().unwrap_or("?")
                            ),
                            value: example.clone(),
                            schema: param["schema"].clone(),
                        });
                    }
                }
                let body = self.resolve(&op["requestBody"]);
                for media in body["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(Map::values)
                {
                    if let Some(example) = media.get("example") {
                        found.push(SpecExample {
                            location: format!("{id} request"),
                            value: example.clone(),
                            schema: media["schema"].clone(),
                        });
                    }
                }
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    let response = self.resolve(response);
                    for media in response["content"]
                        .as_object()
                        .into_iter()
                        .flat_map(Map::values)
                    {
                        if let Some(example) = media.get("example") {
                            found.push(SpecExample {
                                location: format!("{id} {status}"),
                                value: example.clone(),
                                schema: media["schema"].clone(),
                            });
                        }
                    }
                }
            }
        }
        for (name, schema) in self.doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if let Some(example) = schema.get("example") {
                found.push(SpecExample {
                    location: format!("schema {name}"),
                    value: example.clone(),
                    schema: schema.clone(),
                });
            }
        }
        found
    }

    /// Follows a local `$ref` (one level is all this spec uses for parameters/responses).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix('#')
                .and_then(|pointer| self.doc.pointer(pointer))
                .unwrap_or(value),
            None => value,
        }
    }

    /// Validates `value` against an OpenAPI 3.0 `schema` of this spec. The OpenAPI → JSON
    /// Schema conversion is the sandbox's (the same one it validates requests with).
    pub fn validate(&self, schema: &Value, value: &Value) -> Result<(), Vec<String>> {
        let root = amili_sandbox::spec::schema_document(schema).map_err(|e| vec![e.to_string()])?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| vec![format!("schema does not compile: {e}")])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at `{}`", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
