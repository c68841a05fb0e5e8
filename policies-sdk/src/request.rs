//! What a policy gets to look at: [`Request`] and its parts.
//!
//! The `with_*` builders exist so that policy logic can be unit-tested on the host; umagate
//! fills these types itself when it calls a policy.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{AttributeError, Attributes};

/// One permission request: a resource, the scopes asked for, who asks, and server-owned facts.
///
/// ```
/// use umagate_policies_sdk::{Context, Party, Request, Resource};
///
/// let request = Request::new(Resource::new("album-1", "alice").with_scopes(["view", "edit"]))
///     .with_scopes(["view"])
///     .with_party(Party::new().with_subject("bob").with_claim("email", "bob@example.com"))
///     .with_context(Context::new(1_767_225_600, "photo-app"));
/// assert_eq!(request.scopes(), ["view"]);
/// assert_eq!(request.party().claim_str("email"), Some("bob@example.com"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub(crate) resource: Resource,
    pub(crate) scopes: Vec<String>,
    pub(crate) party: Party,
    pub(crate) context: Context,
}

/// The resource being asked for, as registered by its resource server, plus the attributes its
/// owner set. A requesting party can influence none of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub(crate) id: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) owner: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) attributes: Attributes,
}

/// The requesting party, as far as umagate has verified it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Party {
    pub(crate) subject: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) claims: Attributes,
}

/// Facts only the server knows; claims can never set or override them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub(crate) now: i64,
    pub(crate) auth_time: Option<i64>,
    pub(crate) client_id: String,
}

// === impl Request ===

impl Request {
    /// A request for `resource` with no scopes, an anonymous party and a default context.
    pub fn new(resource: Resource) -> Self {
        Self {
            resource,
            scopes: Vec::new(),
            party: Party::default(),
            context: Context::default(),
        }
    }

    /// Sets the requested scopes.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the requesting party.
    pub fn with_party(mut self, party: Party) -> Self {
        self.party = party;
        self
    }

    /// Sets the server context.
    pub fn with_context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The scopes asked for, as sent (no duplicates, each one of the resource's scopes). Empty
    /// when the request is for the resource with no scope; see [`Request::scopes_to_decide`].
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The scopes the decision must answer: the requested scopes, or the single empty-string
    /// scope when none were requested.
    ///
    /// ```
    /// use umagate_policies_sdk::{Request, Resource};
    ///
    /// let request = Request::new(Resource::new("r", "alice"));
    /// assert_eq!(request.scopes_to_decide().collect::<Vec<_>>(), [""]);
    /// let request = request.with_scopes(["view", "edit"]);
    /// assert_eq!(request.scopes_to_decide().collect::<Vec<_>>(), ["view", "edit"]);
    /// ```
    pub fn scopes_to_decide(&self) -> impl Iterator<Item = &str> {
        let none_requested = self.scopes.is_empty();
        self.scopes
            .iter()
            .map(String::as_str)
            .chain(none_requested.then_some(""))
    }

    /// Who is asking.
    pub fn party(&self) -> &Party {
        &self.party
    }

    /// Server-owned facts such as the time of the request.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

// === impl Resource ===

impl Resource {
    /// A resource with an id and an owner's subject identifier, and nothing else set.
    pub fn new(id: impl Into<String>, owner: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            resource_type: None,
            name: None,
            owner: owner.into(),
            scopes: Vec::new(),
            attributes: Attributes::new(),
        }
    }

    /// Sets the registered resource type.
    pub fn with_type(mut self, resource_type: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type.into());
        self
    }

    /// Sets the registered name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the registered scopes.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an owner-set attribute; see [`Attributes::with`].
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes = self.attributes.with(name, value);
        self
    }

    /// Adds an owner-set attribute given as JSON text.
    pub fn with_attribute_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.attributes = self.attributes.with_json(name, json);
        self
    }

    /// The id umagate assigned to the resource (`_id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The registered resource type, often a URI.
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }

    /// The registered, human-readable name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The subject identifier of the resource owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Every scope registered for the resource.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// All attributes the owner set.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Reads an attribute as type `T`: `Ok(None)` if it is not set, an error if it is set but
    /// is not a `T`.
    ///
    /// ```
    /// use umagate_policies_sdk::Resource;
    ///
    /// let resource = Resource::new("invoice-7", "alice").with_attribute("approve-above", 500);
    /// assert_eq!(resource.attribute::<f64>("approve-above").unwrap(), Some(500.0));
    /// assert_eq!(resource.attribute::<f64>("amount").unwrap(), None);
    /// assert!(resource.attribute::<String>("approve-above").is_err());
    /// ```
    pub fn attribute<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, AttributeError> {
        self.attributes.get_as(name)
    }

    /// Reads an attribute that should be a string, borrowed: like
    /// [`attribute::<String>`](Resource::attribute) but without allocating.
    ///
    /// ```
    /// use umagate_policies_sdk::Resource;
    ///
    /// let resource = Resource::new("album-1", "alice").with_attribute("share-domain", "example.com");
    /// assert_eq!(resource.attribute_str("share-domain").unwrap(), Some("example.com"));
    /// assert_eq!(resource.attribute_str("other").unwrap(), None);
    /// ```
    pub fn attribute_str(&self, name: &str) -> Result<Option<&str>, AttributeError> {
        self.attributes.get_as_str(name)
    }

    /// An attribute as a JSON value, or `None` if it is not set (or not valid JSON).
    pub fn attribute_json(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }
}

// === impl Party ===

impl Party {
    /// An anonymous party: no subject, no issuer, no claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the verified subject identifier.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the issuer that vouched for the subject and claims.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds a verified claim; see [`Attributes::with`].
    pub fn with_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims = self.claims.with(name, value);
        self
    }

    /// Adds a verified claim given as JSON text.
    pub fn with_claim_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.claims = self.claims.with_json(name, json);
        self
    }

    /// The subject identifier, once any claim about the party was verified.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The issuer that vouched for the subject and claims.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// All verified claims.
    pub fn claims(&self) -> &Attributes {
        &self.claims
    }

    /// A claim that is a JSON string, such as `email`.
    ///
    /// ```
    /// use umagate_policies_sdk::Party;
    ///
    /// let party = Party::new().with_claim("email", "bob@example.com").with_claim("email_verified", true);
    /// assert_eq!(party.claim_str("email"), Some("bob@example.com"));
    /// assert_eq!(party.claim_bool("email_verified"), Some(true));
    /// assert_eq!(party.claim_str("email_verified"), None); // not a string
    /// ```
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get_str(name)
    }

    /// A claim that is `true` or `false`, such as `email_verified`.
    pub fn claim_bool(&self, name: &str) -> Option<bool> {
        self.claims.get_bool(name)
    }

    /// Reads a claim as type `T`; see [`Resource::attribute`].
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, AttributeError> {
        self.claims.get_as(name)
    }

    /// A claim as a JSON value, or `None` if it is absent (or not valid JSON).
    pub fn claim_json(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

// === impl Context ===

impl Context {
    /// A context at `now` (seconds since the Unix epoch, UTC) for the OAuth client `client_id`.
    pub fn new(now: i64, client_id: impl Into<String>) -> Self {
        Self {
            now,
            auth_time: None,
            client_id: client_id.into(),
        }
    }

    /// Sets when the party authenticated.
    pub fn with_auth_time(mut self, auth_time: i64) -> Self {
        self.auth_time = Some(auth_time);
        self
    }

    /// The time of this request, seconds since the Unix epoch (UTC), read once by umagate.
    /// Policies get no clock of their own, so every decision can be replayed.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// When the requesting party authenticated, seconds since the Unix epoch, if known.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// The OAuth client making the request, as authenticated by umagate.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}
