//! The `umagate policy test` case table.
//!
//! ```json
//! { "defaults": { "resource": {...}, "context": {...} },
//!   "cases": [ { "name": "colleague may view",
//!                "input": { "scopes": ["view"], "party": {...} },
//!                "expect": { "view": "permit" } } ] }
//! ```
//! Each case's `input` is applied to `defaults` as a JSON merge patch (RFC 7386: objects member
//! by member, `null` removes a member, anything else replaces) and must then be a complete request. `expect` maps every decided scope (`""` for
//! a request without scopes) to `permit`, `deny`, `need_info` or `ask_owner`; an optional
//! `failure` expects the engine to report a failure whose text contains it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use umagate_core::policy::PolicyInput;
use umagate_engine::Evaluation;

/// Most cases in one file.
const MAX_CASES: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    defaults: Option<Value>,
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(default)]
    input: Option<Value>,
    expect: BTreeMap<String, String>,
    #[serde(default)]
    failure: Option<String>,
}

/// A parsed table.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) cases: Vec<Case>,
}

/// One case, ready to run.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) input: PolicyInput,
    expect: BTreeMap<String, String>,
    failure: Option<String>,
}

const KINDS: &[&str] = &["permit", "deny", "need_info", "ask_owner"];

impl Table {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let raw: RawTable =
            umagate_proto::json::object_from_slice(bytes).map_err(|e| e.to_string())?;
        if raw.cases.is_empty() || raw.cases.len() > MAX_CASES {
            return Err(format!("expected 1 to {MAX_CASES} cases"));
        }
        let defaults = raw.defaults.unwrap_or(Value::Object(Default::default()));
        let cases = raw
            .cases
            .into_iter()
            .map(|c| {
                let mut merged = defaults.clone();
                if let Some(input) = c.input {
                    merge(&mut merged, input);
                }
                let input: PolicyInput = serde_json::from_value(merged)
                    .map_err(|e| format!("case `{}`: {e}", c.name))?;
                if let Some((scope, kind)) =
                    c.expect.iter().find(|(_, k)| !KINDS.contains(&k.as_str()))
                {
                    return Err(format!(
                        "case `{}`: scope `{scope}` expects `{kind}`; use one of {}",
                        c.name,
                        KINDS.join(", ")
                    ));
                }
                Ok(Case {
                    name: c.name,
                    input,
                    expect: c.expect,
                    failure: c.failure,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { cases })
    }
}

impl Case {
    /// What differs between the expectation and `evaluation`, one line each.
    pub(crate) fn mismatches(&self, evaluation: &Evaluation) -> Vec<String> {
        let mut out = Vec::new();
        for (scope, want) in &self.expect {
            match evaluation.decision.scopes.get(scope) {
                Some(got) if got.kind() == want => {}
                Some(got) => out.push(format!(
                    "scope `{scope}`: expected {want}, got {}",
                    super::describe(got)
                )),
                None => out.push(format!("scope `{scope}`: expected {want}, got no decision")),
            }
        }
        for scope in evaluation
            .decision
            .scopes
            .keys()
            .filter(|s| !self.expect.contains_key(*s))
        {
            out.push(format!("scope `{scope}`: decided but not in `expect`"));
        }
        match (&self.failure, &evaluation.failure) {
            (Some(want), Some(got)) if got.to_string().contains(want.as_str()) => {}
            (Some(want), got) => out.push(format!(
                "expected a failure containing `{want}`, got {}",
                got.as_ref()
                    .map_or("none".to_string(), |f| format!("`{f}`"))
            )),
            (None, Some(got)) => out.push(format!("unexpected failure: {got}")),
            (None, None) => {}
        }
        out
    }
}

/// Applies `patch` to `base` as a JSON merge patch (RFC 7386): objects member by member, a
/// `null` member removes it, anything else replaces.
fn merge(base: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *base = patch;
        return;
    };
    if !base.is_object() {
        *base = Value::Object(Default::default());
    }
    if let Value::Object(base) = base {
        for (key, value) in patch {
            if value.is_null() {
                base.remove(&key);
            } else {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"{
        "defaults": {"resource": {"id":"r","owner":"alice","scopes":["view","edit"]},
                     "context": {"now": 0, "client_id": "c"}},
        "cases": [
          {"name": "a", "input": {"scopes": ["view"]}, "expect": {"view": "permit"}},
          {"name": "b", "input": {"scopes": [], "resource": {"attributes": {"x": 1}}}, "expect": {"": "deny"}}
        ]}"#;

    #[test]
    fn defaults_merge_into_cases() {
        let t = Table::parse(TABLE.as_bytes()).unwrap();
        assert_eq!(t.cases.len(), 2);
        assert_eq!(t.cases[1].input.resource.owner, "alice");
        assert_eq!(t.cases[1].input.resource.attributes["x"], 1);
        assert!(t.cases[1].input.scopes.is_empty());
    }

    #[test]
    fn null_removes_a_member() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(&mut base, serde_json::json!({"a": {"b": null}, "d": [1]}));
        assert_eq!(base, serde_json::json!({"a": {"c": 2}, "d": [1]}));
    }

    #[test]
    fn malformed_tables_are_refused_with_the_case_name() {
        let bad_kind = TABLE.replace(r#""view": "permit""#, r#""view": "allow""#);
        assert!(
            Table::parse(bad_kind.as_bytes())
                .unwrap_err()
                .contains("case `a`")
        );
        let incomplete = r#"{"cases":[{"name":"x","expect":{}}]}"#;
        assert!(
            Table::parse(incomplete.as_bytes())
                .unwrap_err()
                .contains("case `x`")
        );
        assert!(Table::parse(br#"{"cases":[]}"#).is_err());
        assert!(Table::parse(br#"{"cases":[],"extra":1}"#).is_err());
    }
}
