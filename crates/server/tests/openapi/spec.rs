//! The OpenAPI document as validators: for each documented path, one JSON Schema for the request
//! body and one for the answer, and the check of recorded exchanges against them.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Result codes that answer a request the server could not take as it is (a field missing, too
/// long, of the wrong type, an unknown grant type): such a request need not match its schema,
/// its answer must.
pub const REFUSED_REQUEST_CODES: &[&str] = &["PARAM_ILLEGAL", "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE"];

pub struct Operation {
    pub request: jsonschema::Validator,
    pub response: jsonschema::Validator,
}

pub struct Spec {
    pub document: Value,
    /// Documented path without the default prefix `/api` (e.g. `/v1/payments/pay`) → validators.
    pub operations: BTreeMap<String, Operation>,
    /// The answer to a path that is not an API (or a request refused before routing).
    pub error_response: jsonschema::Validator,
}

/// A schema that resolves `#/components/...` references against the document.
fn rooted(document: &Value, schema: &Value) -> Value {
    let mut root = json!({"components": document["components"].clone()});
    match schema.as_object() {
        Some(fields) => {
            for (k, v) in fields {
                root[k] = v.clone();
            }
        }
        None => panic!("a schema is not an object: {schema}"),
    }
    root
}

pub fn compile(document: &Value, schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(&rooted(document, schema))
        .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema}"))
}

/// The first few reasons `instance` does not match, or none.
pub fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(5)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect()
}

impl Spec {
    pub fn load(text: &str) -> Spec {
        let document: Value = serde_json::from_str(text).expect("openapi.json is JSON");
        let mut operations = BTreeMap::new();
        let paths = document["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let post = &item["post"];
            let request = &post["requestBody"]["content"]["application/json"]["schema"];
            let response = &post["responses"]["200"]["content"]["application/json"]["schema"];
            assert!(
                request.is_object() && response.is_object(),
                "{path}: POST with JSON bodies"
            );
            let api = path.strip_prefix("/api").expect("paths under /api").to_owned();
            operations.insert(
                api,
                Operation {
                    request: compile(&document, request),
                    response: compile(&document, response),
                },
            );
        }
        let error_response = compile(&document, &json!({"$ref": "#/components/schemas/ErrorResponse"}));
        Spec {
            document,
            operations,
            error_response,
        }
    }

    /// The documented API a recorded path addresses (whatever prefix the server was configured
    /// with): the longest documented path its end matches.
    pub fn operation_of(&self, path: &str) -> Option<(&str, &Operation)> {
        self.operations
            .iter()
            .filter(|(api, _)| path.ends_with(api.as_str()))
            .max_by_key(|(api, _)| api.len())
            .map(|(api, op)| (api.as_str(), op))
    }

    /// What is wrong with one recorded exchange `{path, request, response}`, if anything.
    pub fn check_exchange(&self, exchange: &Value) -> Vec<String> {
        let path = exchange["path"].as_str().unwrap_or("");
        let request = &exchange["request"];
        let response = &exchange["response"];
        let code = response["result"]["resultCode"].as_str().unwrap_or("");
        let mut problems = Vec::new();
        match self.operation_of(path) {
            Some((_, op)) => {
                for v in violations(&op.response, response) {
                    problems.push(format!("response {v}"));
                }
                if !request.is_null() && !REFUSED_REQUEST_CODES.contains(&code) {
                    for v in violations(&op.request, request) {
                        problems.push(format!("request (answered {code}) {v}"));
                    }
                }
            }
            None => {
                for v in violations(&self.error_response, response) {
                    problems.push(format!("response to an undocumented path {v}"));
                }
            }
        }
        problems
    }

    /// Checks every complete line of a recorded log; returns how many exchanges were checked and
    /// the first violations (each with its exchange).
    pub fn check_log(&self, text: &str) -> (usize, Vec<String>) {
        let mut checked = 0;
        let mut failures = Vec::new();
        // A line still being appended by another process has no newline yet: left for later.
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        for (n, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let exchange: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("line {}: not JSON: {e}", n + 1));
                    continue;
                }
            };
            checked += 1;
            let problems = self.check_exchange(&exchange);
            if !problems.is_empty() && failures.len() < 20 {
                let mut shown = exchange.to_string();
                if shown.len() > 1500 {
                    shown = format!("{}…", shown.chars().take(1500).collect::<String>());
                }
                failures.push(format!(
                    "line {}: {}\n    {shown}",
                    n + 1,
                    problems.join("\n    ")
                ));
            }
        }
        (checked, failures)
    }
}
