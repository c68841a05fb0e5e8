//! What a policy answers: a [`Decision`] with one [`Outcome`] per requested scope.

use crate::Request;

/// The claim token format of an OpenID Connect ID token, for
/// [`RequiredClaim::format`].
pub const ID_TOKEN_FORMAT: &str = "https://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// A policy's answer: one outcome per requested scope, and a short explanation for the
/// decision log.
///
/// Build it scope by scope, or with [`Decision::for_each_scope`]. Setting a scope twice keeps
/// the last outcome. umagate rejects a decision that misses a requested scope or names an
/// unknown one, and then denies every scope.
///
/// ```
/// use umagate_policies_sdk::{Decision, Outcome, RequiredClaim, ID_TOKEN_FORMAT};
///
/// let decision = Decision::new("bob may view; editing needs alice")
///     .permit("view")
///     .ask_owner("edit", "bob@example.com asks to edit")
///     .deny("delete", "never shared")
///     .need_info(
///         "comment",
///         [RequiredClaim::new("email").friendly_name("Email address").format(ID_TOKEN_FORMAT)],
///     );
/// assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
/// assert_eq!(decision.outcome("delete"), Some(&Outcome::deny("never shared")));
/// assert_eq!(decision.scopes().len(), 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    scopes: Vec<ScopeDecision>,
    explanation: String,
}

/// The outcome for one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeDecision {
    /// The scope, exactly as requested (empty when the request named no scope).
    pub scope: String,
    /// What to do with it.
    pub outcome: Outcome,
}

/// What to do with one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Grant the scope.
    Permit,
    /// Refuse the scope. The reason goes to the decision log; the client does not see it.
    Deny(String),
    /// Cannot decide without more claims; the client gets UMA `need_info`.
    NeedInfo(Vec<RequiredClaim>),
    /// Ask the resource owner; the client gets UMA `request_submitted`. The text tells the
    /// owner why they are asked.
    AskOwner(String),
}

/// A claim that would let the policy decide (the UMA `required_claims` shape). Every field is
/// optional; say as much as helps the client find the claim.
///
/// ```
/// use umagate_policies_sdk::{RequiredClaim, ID_TOKEN_FORMAT};
///
/// let claim = RequiredClaim::new("email").friendly_name("Email address").format(ID_TOKEN_FORMAT);
/// assert_eq!(claim.name.as_deref(), Some("email"));
/// assert_eq!(claim.claim_token_formats, [ID_TOKEN_FORMAT]);
/// assert!(claim.issuers.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequiredClaim {
    /// The claim's name in the claim token, e.g. `email`.
    pub name: Option<String>,
    /// A human-readable name, e.g. `Email address`.
    pub friendly_name: Option<String>,
    /// The expected type of the claim value, often a URI.
    pub claim_type: Option<String>,
    /// Claim token formats accepted, e.g. [`ID_TOKEN_FORMAT`].
    pub claim_token_formats: Vec<String>,
    /// Issuers whose tokens are accepted.
    pub issuers: Vec<String>,
}

// === impl Decision ===

impl Decision {
    /// An empty decision with an explanation for the decision log ("why, in a sentence").
    pub fn new(explanation: impl Into<String>) -> Self {
        Self {
            scopes: Vec::new(),
            explanation: explanation.into(),
        }
    }

    /// Decides every scope of `request` (see [`Request::scopes_to_decide`]) with `decide`.
    /// The explanation lists each scope's outcome; replace it with
    /// [`Decision::with_explanation`] if you have a better sentence.
    ///
    /// ```
    /// use umagate_policies_sdk::{Decision, Outcome, Request, Resource};
    ///
    /// let request = Request::new(Resource::new("r", "alice")).with_scopes(["view", "edit"]);
    /// let decision = Decision::for_each_scope(&request, |scope| match scope {
    ///     "view" => Outcome::Permit,
    ///     _ => Outcome::deny("read-only share"),
    /// });
    /// assert_eq!(decision.explanation(), "view: permit; edit: deny (read-only share)");
    /// ```
    pub fn for_each_scope(request: &Request, mut decide: impl FnMut(&str) -> Outcome) -> Self {
        let mut decision = Self::new("");
        for scope in request.scopes_to_decide() {
            decision = decision.set(scope, decide(scope));
        }
        decision.explanation = decision.summary();
        decision
    }

    /// Gives every scope of `request` the same outcome, with `explanation`.
    pub fn all(request: &Request, outcome: Outcome, explanation: impl Into<String>) -> Self {
        let mut decision = Self::new(explanation);
        for scope in request.scopes_to_decide() {
            decision = decision.set(scope, outcome.clone());
        }
        decision
    }

    /// Permits every scope of `request`.
    pub fn permit_all(request: &Request, explanation: impl Into<String>) -> Self {
        Self::all(request, Outcome::Permit, explanation)
    }

    /// Denies every scope of `request`; the reason is also the explanation.
    pub fn deny_all(request: &Request, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::all(request, Outcome::Deny(reason.clone()), reason)
    }

    /// Sets the outcome for `scope`, replacing any earlier one.
    pub fn set(mut self, scope: impl Into<String>, outcome: Outcome) -> Self {
        let scope = scope.into();
        match self.scopes.iter_mut().find(|entry| entry.scope == scope) {
            Some(entry) => entry.outcome = outcome,
            None => self.scopes.push(ScopeDecision { scope, outcome }),
        }
        self
    }

    /// Permits `scope`.
    pub fn permit(self, scope: impl Into<String>) -> Self {
        self.set(scope, Outcome::Permit)
    }

    /// Denies `scope`, with a reason for the decision log.
    pub fn deny(self, scope: impl Into<String>, reason: impl Into<String>) -> Self {
        self.set(scope, Outcome::deny(reason))
    }

    /// Asks the client for claims before deciding `scope`.
    pub fn need_info(
        self,
        scope: impl Into<String>,
        claims: impl IntoIterator<Item = RequiredClaim>,
    ) -> Self {
        self.set(scope, Outcome::need_info(claims))
    }

    /// Asks the resource owner to decide `scope`, telling them why.
    pub fn ask_owner(self, scope: impl Into<String>, why: impl Into<String>) -> Self {
        self.set(scope, Outcome::ask_owner(why))
    }

    /// Replaces the explanation.
    pub fn with_explanation(mut self, explanation: impl Into<String>) -> Self {
        self.explanation = explanation.into();
        self
    }

    /// The explanation for the decision log.
    pub fn explanation(&self) -> &str {
        &self.explanation
    }

    /// The outcome set for `scope`, if any.
    pub fn outcome(&self, scope: &str) -> Option<&Outcome> {
        self.scopes
            .iter()
            .find(|entry| entry.scope == scope)
            .map(|entry| &entry.outcome)
    }

    /// Every scope's outcome, in the order they were first set.
    pub fn scopes(&self) -> &[ScopeDecision] {
        &self.scopes
    }

    pub(crate) fn into_parts(self) -> (Vec<ScopeDecision>, String) {
        (self.scopes, self.explanation)
    }

    /// `view: permit; edit: deny (reason)`; the empty scope shows as `(no scope)`. Built with
    /// `push_str` (no formatting machinery): it runs on every `for_each_scope` decision.
    fn summary(&self) -> String {
        let mut out = String::new();
        for (i, ScopeDecision { scope, outcome }) in self.scopes.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(if scope.is_empty() {
                "(no scope)"
            } else {
                scope
            });
            let (kind, detail) = match outcome {
                Outcome::Permit => (": permit", None),
                Outcome::Deny(reason) => (": deny (", Some(reason.as_str())),
                Outcome::AskOwner(why) => (": ask-owner (", Some(why.as_str())),
                Outcome::NeedInfo(claims) => {
                    out.push_str(": need-info (");
                    let names = claims.iter().filter_map(|c| c.name.as_deref());
                    for (j, name) in names.enumerate() {
                        if j > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(name);
                    }
                    ("", Some(""))
                }
            };
            out.push_str(kind);
            if let Some(detail) = detail {
                out.push_str(detail);
                out.push(')');
            }
        }
        out
    }
}

// === impl Outcome ===

impl Outcome {
    /// [`Outcome::Deny`] with a reason for the decision log.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::Deny(reason.into())
    }

    /// [`Outcome::AskOwner`], telling the owner why they are asked.
    pub fn ask_owner(why: impl Into<String>) -> Self {
        Self::AskOwner(why.into())
    }

    /// [`Outcome::NeedInfo`] for the given claims.
    pub fn need_info(claims: impl IntoIterator<Item = RequiredClaim>) -> Self {
        Self::NeedInfo(claims.into_iter().collect())
    }

    /// Whether this grants the scope.
    pub fn is_permit(&self) -> bool {
        matches!(self, Self::Permit)
    }
}

// === impl RequiredClaim ===

impl RequiredClaim {
    /// A required claim with this name (e.g. `email`) and nothing else set.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Sets the human-readable name.
    pub fn friendly_name(mut self, friendly_name: impl Into<String>) -> Self {
        self.friendly_name = Some(friendly_name.into());
        self
    }

    /// Sets the expected type of the claim value.
    pub fn claim_type(mut self, claim_type: impl Into<String>) -> Self {
        self.claim_type = Some(claim_type.into());
        self
    }

    /// Adds an accepted claim token format, such as [`ID_TOKEN_FORMAT`].
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.claim_token_formats.push(format.into());
        self
    }

    /// Adds an accepted issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }
}
