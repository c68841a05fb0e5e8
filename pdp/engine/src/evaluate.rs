//! One evaluation: a fresh store and instance under the limits, the call, and the checks that
//! turn whatever came back into a [`Decision`] — the policy's own, or a deny-all with a reason.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use umagate_core::policy::{Decision, Outcome, PolicyInput};
use umagate_proto::error::RequiredClaim;
use wasmtime::{Store, Trap};

use crate::bindings::Policy;
use crate::bindings::umagate::policy::types as wit;
use crate::error::Failure;
use crate::host::{LogLine, State};
use crate::limits::Limits;
use crate::load::LoadedPolicy;

/// The result of an evaluation. `decision` is always usable: on any failure it denies every
/// requested scope and `failure` says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision to enforce.
    pub decision: Decision,
    /// Why the policy's own decision was not used, if it was not.
    pub failure: Option<Failure>,
    /// Lines the policy logged (bounded).
    pub logs: Vec<LogLine>,
    /// Lines dropped past the bound.
    pub logs_dropped: usize,
    /// Wall time, waiting for a slot included.
    pub elapsed: Duration,
}

impl Evaluation {
    pub(crate) fn failed(input: &PolicyInput, failure: Failure, started: Instant) -> Self {
        Self {
            decision: Decision::deny_all(input, failure.to_string()),
            failure: Some(failure),
            logs: Vec::new(),
            logs_dropped: 0,
            elapsed: started.elapsed(),
        }
    }
}

/// A fresh store with the limits applied.
pub(crate) fn new_store(engine: &wasmtime::Engine, limits: &Limits) -> Store<State> {
    let mut store = Store::new(engine, State::new(limits));
    store.limiter(|state| state);
    store.set_epoch_deadline(limits.deadline_ticks());
    store
}

/// Calls `decide` on `instance` and checks the answer.
pub(crate) fn call(
    store: &mut Store<State>,
    instance: &Policy,
    input: &PolicyInput,
    limits: &Limits,
) -> Result<Decision, Failure> {
    store.set_epoch_deadline(limits.deadline_ticks());
    let answer = with_wit(input, |request| {
        instance
            .call_decide(&mut *store, request)
            .map_err(|e| classify(store, &e, CallPhase::Call))
    })?;
    check_output(input, answer, limits.max_output_bytes)
}

/// Instantiates `policy` in `store`.
pub(crate) fn instantiate(
    store: &mut Store<State>,
    policy: &LoadedPolicy,
) -> Result<Policy, Failure> {
    policy
        .inner
        .pre
        .instantiate(&mut *store)
        .map_err(|e| classify(store, &e, CallPhase::Instantiate))
}

/// Evaluates `input` in a fresh instance of `policy`.
pub(crate) fn run_fresh(
    engine: &wasmtime::Engine,
    policy: &LoadedPolicy,
    input: &PolicyInput,
    limits: &Limits,
    started: Instant,
) -> Evaluation {
    let mut store = new_store(engine, limits);
    let result = instantiate(&mut store, policy)
        .and_then(|instance| call(&mut store, &instance, input, limits));
    let logs = store.data_mut().take_logs(limits);
    finish(input, result, logs, started)
}

/// Wraps up an evaluation; a failure becomes a deny-all carrying its reason.
pub(crate) fn finish(
    input: &PolicyInput,
    result: Result<Decision, Failure>,
    (logs, logs_dropped): (Vec<LogLine>, usize),
    started: Instant,
) -> Evaluation {
    let (decision, failure) = match result {
        Ok(decision) => (decision, None),
        Err(failure) => (
            Decision::deny_all(input, failure.to_string()),
            Some(failure),
        ),
    };
    Evaluation {
        decision,
        failure,
        logs,
        logs_dropped,
        elapsed: started.elapsed(),
    }
}

#[derive(Clone, Copy)]
enum CallPhase {
    Instantiate,
    Call,
}

fn classify(store: &Store<State>, error: &wasmtime::Error, phase: CallPhase) -> Failure {
    if store.data().memory_cap_hit {
        return Failure::MemoryLimit;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Failure::Timeout,
        Some(Trap::StackOverflow) => Failure::StackOverflow,
        Some(trap) => Failure::Trap(trap.to_string()),
        None => match phase {
            CallPhase::Instantiate => Failure::Instantiate(format!("{error:#}")),
            // Errors that are not traps come from lifting the result: bad UTF-8, out-of-bounds
            // pointers, invalid discriminants.
            CallPhase::Call => Failure::InvalidOutput(format!("{error:#}")),
        },
    }
}

/// Calls `f` with `input` as the WIT request. Everything is borrowed from `input` except the
/// attributes and the claims, which are written as one JSON object each.
fn with_wit<R>(
    input: &PolicyInput,
    f: impl FnOnce(wit::Request<'_>) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let r = &input.resource;
    let attributes = json_object(&r.attributes)?;
    let claims = json_object(&input.party.claims)?;
    let registered: Vec<&str> = r.scopes.iter().map(String::as_str).collect();
    let requested: Vec<&str> = input.scopes.iter().map(String::as_str).collect();
    f(wit::Request {
        resource: wit::Resource {
            id: &r.id,
            type_: r.resource_type.as_deref(),
            name: r.name.as_deref(),
            owner: &r.owner,
            scopes: &registered,
            attributes: &attributes,
        },
        scopes: &requested,
        party: wit::Party {
            subject: input.party.subject.as_deref(),
            issuer: input.party.issuer.as_deref(),
            claims: &claims,
        },
        context: wit::Context {
            now: input.context.now,
            auth_time: input.context.auth_time,
            client_id: &input.context.client_id,
        },
    })
}

/// `map` as one JSON object (names unique and sorted, as in the map).
fn json_object(map: &BTreeMap<String, serde_json::Value>) -> Result<String, Failure> {
    // Writing string-keyed JSON into memory cannot fail; if it ever did, nothing is decided.
    serde_json::to_string(map).map_err(|e| {
        Failure::InvalidInput(format!("attributes or claims not writable as JSON: {e}"))
    })
}

/// Checks size and coverage, then converts: exactly one outcome per decided scope.
fn check_output(
    input: &PolicyInput,
    answer: wit::Decision,
    max_bytes: usize,
) -> Result<Decision, Failure> {
    if output_bytes(&answer) > max_bytes {
        return Err(Failure::OutputTooLarge(max_bytes));
    }
    let expected = input.decided_scopes();
    let mut scopes = BTreeMap::new();
    for item in answer.scopes {
        if !expected.contains(&item.scope.as_str()) {
            return Err(Failure::InvalidOutput(format!(
                "decided scope `{}` that was not requested",
                item.scope
            )));
        }
        if scopes.contains_key(&item.scope) {
            return Err(Failure::InvalidOutput(format!(
                "decided scope `{}` twice",
                item.scope
            )));
        }
        scopes.insert(item.scope, from_wit(item.outcome));
    }
    if let Some(missing) = expected.iter().find(|s| !scopes.contains_key(**s)) {
        return Err(Failure::InvalidOutput(format!(
            "no decision for scope `{missing}`"
        )));
    }
    Ok(Decision {
        scopes,
        explanation: answer.explanation,
    })
}

fn from_wit(outcome: wit::Outcome) -> Outcome {
    match outcome {
        wit::Outcome::Permit => Outcome::Permit,
        wit::Outcome::Deny(reason) => Outcome::Deny(reason),
        wit::Outcome::AskOwner(why) => Outcome::AskOwner(why),
        wit::Outcome::NeedInfo(claims) => Outcome::NeedInfo(
            claims
                .into_iter()
                .map(|c| RequiredClaim {
                    claim_token_format: (!c.claim_token_formats.is_empty())
                        .then_some(c.claim_token_formats),
                    claim_type: c.claim_type,
                    friendly_name: c.friendly_name,
                    issuer: (!c.issuers.is_empty()).then_some(c.issuers),
                    name: c.name,
                })
                .collect(),
        ),
    }
}

fn output_bytes(answer: &wit::Decision) -> usize {
    let claim_bytes = |c: &wit::RequiredClaim| {
        [&c.name, &c.friendly_name, &c.claim_type]
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum::<usize>()
            + c.claim_token_formats
                .iter()
                .chain(&c.issuers)
                .map(String::len)
                .sum::<usize>()
    };
    answer.explanation.len()
        + answer
            .scopes
            .iter()
            .map(|d| {
                d.scope.len()
                    + match &d.outcome {
                        wit::Outcome::Permit => 0,
                        wit::Outcome::Deny(s) | wit::Outcome::AskOwner(s) => s.len(),
                        wit::Outcome::NeedInfo(claims) => claims.iter().map(claim_bytes).sum(),
                    }
            })
            .sum::<usize>()
}
