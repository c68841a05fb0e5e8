//! Routes: (host, method, canonical path) → upstream and what the request needs.
//!
//! Templates are matched segment by segment against the *canonical* path
//! (`umagate_proto::path`), the same string that is forwarded, so the decision and the backend
//! can never read different paths. `{name}` binds exactly one non-empty segment (never a `/`,
//! the GHSA-9f3w-vm54-7gfc lesson); a final `{*name}` binds the rest, slashes included.
//! Methods are compared exactly (`get` is not `GET`, the gogatekeeper CVE-2020-14359 lesson).
//! Routes are tried in order; the first match wins; no match is denied.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use umagate_proto::path::{CanonicalPath, PathRules};
use umagate_proto::scope::ScopeToken;

use crate::config::{Config, ConfigError, RouteConfig, check_template, invalid};
use crate::net::UpstreamUrl;

/// One piece of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Var(String),
    Rest(String),
}

/// A compiled path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Segment>);

impl Template {
    /// Compiles `/albums/{album}/photos/{photo}` or `/files/{*rest}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let body = text
            .strip_prefix('/')
            .ok_or_else(|| "a path template starts with `/`".to_string())?;
        let raw: Vec<&str> = body.split('/').collect();
        let mut segments = Vec::with_capacity(raw.len());
        for (i, seg) in raw.iter().enumerate() {
            let segment =
                if let Some(name) = seg.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
                    if i + 1 != raw.len() {
                        return Err("`{*…}` must be the last segment".into());
                    }
                    Segment::Rest(var_name(name)?)
                } else if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Segment::Var(var_name(name)?)
                } else {
                    if seg.contains(['{', '}']) {
                        return Err(format!("`{seg}`: a variable must be a whole segment"));
                    }
                    Segment::Literal((*seg).to_string())
                };
            segments.push(segment);
        }
        let literal: String = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => format!("/{l}"),
                _ => "/x".into(),
            })
            .collect();
        let canonical = umagate_proto::path::canonicalize(&literal, &PathRules::default())
            .map_err(|e| format!("not a canonical path: {e}"))?;
        if canonical.as_str() != literal {
            return Err(format!("not a canonical path (it reads as `{canonical}`)"));
        }
        let mut names: Vec<&str> = segments.iter().filter_map(Segment::name).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("a variable appears twice".into());
        }
        Ok(Self(segments))
    }

    /// Whether the template binds `var`.
    pub fn binds(&self, var: &str) -> bool {
        self.0.iter().any(|s| s.name() == Some(var))
    }

    /// The variables bound by matching `path`, or `None`.
    fn matches(&self, path: &CanonicalPath) -> Option<Vars> {
        let mut vars = Vars::default();
        let mut segments = path.segments();
        for template in &self.0 {
            match template {
                Segment::Rest(name) => {
                    let first = segments.next()?;
                    let rest: Vec<&str> = std::iter::once(first).chain(segments.by_ref()).collect();
                    vars.0.push((name.clone(), rest.join("/")));
                    return Some(vars);
                }
                Segment::Literal(l) => {
                    if segments.next()? != l {
                        return None;
                    }
                }
                Segment::Var(name) => {
                    let value = segments.next().filter(|s| !s.is_empty())?;
                    vars.0.push((name.clone(), value.to_string()));
                }
            }
        }
        segments.next().is_none().then_some(vars)
    }
}

impl Segment {
    fn name(&self) -> Option<&str> {
        match self {
            Self::Var(n) | Self::Rest(n) => Some(n),
            Self::Literal(_) => None,
        }
    }
}

fn var_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| name.to_string())
        .ok_or_else(|| format!("`{name}` is not a variable name (ASCII letters, digits, `_`)"))
}

/// The variable names in a `{var}` text template, in order.
pub fn template_vars(text: &str) -> Result<Vec<&str>, String> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if rest[..open].contains('}') {
            return Err("unbalanced `}`".into());
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("unbalanced `{`")?;
        vars.push(&after[..close]);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("unbalanced `}`".into());
    }
    Ok(vars)
}

/// The path variables of one match, still percent-encoded as in the canonical path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    /// Expands `{var}`s in `text` (validated against the template at load).
    /// One pass: a value is never itself expanded.
    pub fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let name = &after[..close];
            match self.0.iter().find(|(n, _)| n == name) {
                Some((_, value)) => out.push_str(value),
                None => out.push_str(&rest[open..open + close + 2]),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// What a protected route needs.
#[derive(Clone, Debug)]
pub struct Protection {
    /// Scopes per method.
    pub scopes: BTreeMap<Method, Vec<ScopeToken>>,
    /// The registered resource type.
    pub resource_type: String,
    /// The resource name template.
    pub name: String,
    /// The owner template (or fixed subject).
    pub owner: String,
    /// The scopes registered for the resource.
    pub resource_scopes: Vec<ScopeToken>,
}

/// A compiled route.
#[derive(Clone, Debug)]
pub struct Route {
    /// Its index in the configuration, for logs.
    pub index: usize,
    host: Option<String>,
    template: Template,
    methods: Option<Vec<Method>>,
    /// The upstream name.
    pub upstream_name: String,
    /// The upstream.
    pub upstream: Arc<UpstreamUrl>,
    /// `None` for a public route.
    pub protection: Option<Protection>,
}

/// The ordered routes.
#[derive(Clone, Debug, Default)]
pub struct RouteTable(Vec<Route>);

impl RouteTable {
    /// Compiles every route of `config`, checking references and templates.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let mut routes = Vec::with_capacity(config.routes.len());
        for (index, raw) in config.routes.iter().enumerate() {
            routes.push(compile(config, index, raw)?);
        }
        Ok(Self(routes))
    }

    /// The first route matching, with its variables.
    pub fn find(
        &self,
        host: &str,
        method: &Method,
        path: &CanonicalPath,
    ) -> Option<(&Route, Vars)> {
        self.0.iter().find_map(|route| {
            if route
                .host
                .as_deref()
                .is_some_and(|h| !h.eq_ignore_ascii_case(host))
            {
                return None;
            }
            let allowed = match (&route.protection, &route.methods) {
                (Some(p), _) => p.scopes.contains_key(method),
                (None, Some(methods)) => methods.contains(method),
                (None, None) => true,
            };
            if !allowed {
                return None;
            }
            route.template.matches(path).map(|vars| (route, vars))
        })
    }
}

fn method(key: &str, name: &str) -> Result<Method, ConfigError> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase());
    valid
        .then(|| Method::from_bytes(name.as_bytes()).ok())
        .flatten()
        .ok_or_else(|| invalid(key, format!("`{name}` is not an upper-case method name")))
}

fn scopes(key: &str, list: &[String]) -> Result<Vec<ScopeToken>, ConfigError> {
    list.iter()
        .map(|s| ScopeToken::new(s.clone()).map_err(|e| invalid(key, format!("`{s}`: {e}"))))
        .collect()
}

fn compile(config: &Config, index: usize, raw: &RouteConfig) -> Result<Route, ConfigError> {
    let key = |k: &str| format!("routes[{index}].{k}");
    let template = Template::parse(&raw.path).map_err(|m| invalid(key("path"), m))?;
    let upstream = config
        .upstreams
        .get(&raw.upstream)
        .ok_or_else(|| invalid(key("upstream"), format!("no upstream `{}`", raw.upstream)))?;
    let upstream = UpstreamUrl::parse(&upstream.url).map_err(|m| invalid(key("upstream"), m))?;
    let host = raw.host.as_ref().map(|h| h.to_ascii_lowercase());
    if host
        .as_deref()
        .is_some_and(|h| h.is_empty() || h.contains([':', '/', ' ']))
    {
        return Err(invalid(key("host"), "a host name without port"));
    }
    let methods = match &raw.methods {
        Some(list) => Some(
            list.iter()
                .map(|m| method(&key("methods"), m))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let protection = if raw.public {
        let stray = [
            ("scopes", !raw.scopes.is_empty()),
            ("resource_type", raw.resource_type.is_some()),
            ("resource_name", raw.resource_name.is_some()),
            ("owner", raw.owner.is_some()),
            ("resource_scopes", raw.resource_scopes.is_some()),
        ];
        if let Some((k, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(invalid(key(k), "a public route has no protection settings"));
        }
        None
    } else {
        if methods.is_some() {
            return Err(invalid(
                key("methods"),
                "a protected route's methods are the keys of `scopes`",
            ));
        }
        Some(protection(raw, &template, &key)?)
    };
    Ok(Route {
        index,
        host,
        template,
        methods,
        upstream_name: raw.upstream.clone(),
        upstream: Arc::new(upstream),
        protection,
    })
}

fn protection(
    raw: &RouteConfig,
    template: &Template,
    key: &dyn Fn(&str) -> String,
) -> Result<Protection, ConfigError> {
    if raw.scopes.is_empty() {
        return Err(invalid(
            key("scopes"),
            "a protected route needs scopes per method (or `public = true`)",
        ));
    }
    let mut by_method = BTreeMap::new();
    let mut union: Vec<ScopeToken> = Vec::new();
    for (name, list) in &raw.scopes {
        let k = key(&format!("scopes.{name}"));
        let list = scopes(&k, list)?;
        for s in &list {
            if !union.contains(s) {
                union.push(s.clone());
            }
        }
        by_method.insert(method(&k, name)?, list);
    }
    let required = |k: &str, v: &Option<String>| {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(key(k), "required for a protected route"))
    };
    let resource_type = required("resource_type", &raw.resource_type)?;
    let name = required("resource_name", &raw.resource_name)?;
    let owner = required("owner", &raw.owner)?;
    check_template(&key("resource_name"), &name, template)?;
    check_template(&key("owner"), &owner, template)?;
    let resource_scopes = match &raw.resource_scopes {
        Some(list) => {
            let list = scopes(&key("resource_scopes"), list)?;
            if let Some(missing) = union.iter().find(|s| !list.contains(s)) {
                return Err(invalid(
                    key("resource_scopes"),
                    format!("lacks `{missing}` used in `scopes`"),
                ));
            }
            list
        }
        None => union,
    };
    Ok(Protection {
        scopes: by_method,
        resource_type,
        name,
        owner,
        resource_scopes,
    })
}

#[cfg(test)]
mod tests;
