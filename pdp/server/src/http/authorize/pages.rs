//! The login and consent pages. Every value interpolated here is escaped with [`escape`]; the
//! forms post back to the authorization endpoint with the pending request id and its CSRF token.

use std::fmt::Write as _;

use umagate_proto::UMA_PROTECTION_SCOPE;

use super::Params;
use super::cookie::base_path;
use super::html::{document, escape};
use crate::store::{ClientRecord, UserRecord};

/// What every form of one pending request carries.
pub(super) struct View<'a> {
    action: String,
    request_id: &'a str,
    csrf: &'a str,
    client: &'a ClientRecord,
}

impl<'a> View<'a> {
    pub(super) fn new(
        issuer: &str,
        request_id: &'a str,
        csrf: &'a str,
        client: &'a ClientRecord,
    ) -> Self {
        Self {
            action: format!("{}{}", base_path(issuer), umagate_proto::paths::AUTHORIZE),
            request_id,
            csrf,
            client,
        }
    }

    fn form_start(&self) -> String {
        format!(
            "<form method=\"post\" action=\"{}\">\n\
             <input type=\"hidden\" name=\"request\" value=\"{}\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
            escape(&self.action),
            escape(self.request_id),
            escape(self.csrf),
        )
    }

    /// The client's display name: its registered name (which it chose itself, so its id is shown
    /// too) or its id.
    fn client_name(&self) -> &str {
        self.client
            .metadata
            .client_name
            .as_deref()
            .unwrap_or(&self.client.client_id)
    }
}

/// The login page, with the username to prefill and a notice (an error) to show.
pub(super) fn login(view: &View<'_>, username: Option<&str>, notice: Option<&str>) -> String {
    let mut body = format!(
        "<p class=\"muted\">to continue to <strong>{}</strong></p>\n",
        escape(view.client_name())
    );
    if let Some(notice) = notice {
        let _ = writeln!(body, "<p class=\"error\">{}</p>", escape(notice));
    }
    body.push_str(&view.form_start());
    let _ = write!(
        body,
        "<label for=\"username\">Username</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" required{}>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{}>\n\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"login\">Sign in</button></div>\n\
         </form>\n",
        escape(username.unwrap_or_default()),
        if username.is_none() { " autofocus" } else { "" },
        if username.is_some() { " autofocus" } else { "" },
    );
    document("Sign in", &body)
}

/// The consent page: who asks, for what, as whom, and where the answer goes (B5).
pub(super) fn consent(view: &View<'_>, params: &Params, user: &UserRecord) -> String {
    if params.claims.is_some() {
        return claims_consent(view, params, user);
    }
    let mut body = format!(
        "<p><strong>{}</strong> asks for access to your account:</p>\n<ul>\n",
        escape(view.client_name())
    );
    for scope in &params.scope {
        let _ = writeln!(
            body,
            "<li>{} <code>{}</code></li>",
            escape(describe(scope)),
            escape(scope)
        );
    }
    body.push_str("</ul>\n");
    let _ = writeln!(
        body,
        "<p class=\"muted\">Signed in as <strong>{}</strong>. Application id <code>{}</code>; \
         your answer is sent to <code>{}</code>.</p>",
        escape(&user.username),
        escape(&view.client.client_id),
        escape(destination(&params.redirect_to)),
    );
    body.push_str(&view.form_start());
    body.push_str(
        "<div class=\"actions\">\
         <button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button>\
         <button type=\"submit\" name=\"action\" value=\"approve\">Allow</button></div>\n</form>\n",
    );
    document("Allow access?", &body)
}

/// The claims-gathering page (UMA Grant §3.3.2): the requesting party confirms who they are to
/// the owner's authorization server, and may let the client keep that (a PCT).
fn claims_consent(view: &View<'_>, params: &Params, user: &UserRecord) -> String {
    let mut body = format!(
        "<p><strong>{}</strong> asks for access to resources shared through this server. \
         Confirm that you are <strong>{}</strong>{} so the owner's rules can decide.</p>\n",
        escape(view.client_name()),
        escape(&user.username),
        user.email
            .as_deref()
            .map(|e| format!(" ({})", escape(e)))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        body,
        "<p class=\"muted\">Application id <code>{}</code>; you return to <code>{}</code>. \
         Nothing about you is sent to the application.</p>",
        escape(&view.client.client_id),
        escape(destination(&params.redirect_to)),
    );
    body.push_str(&view.form_start());
    body.push_str(
        "<label><input type=\"checkbox\" name=\"persist\" value=\"yes\"> \
         Remember this for this application (it may ask again without you)</label>\n\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button>\
         <button type=\"submit\" name=\"action\" value=\"approve\">Confirm</button></div>\n</form>\n",
    );
    document("Confirm who you are", &body)
}

/// What a scope lets the client do, in words.
fn describe(scope: &str) -> &str {
    match scope {
        "openid" => "Know who you are on this server",
        "email" => "See your email address",
        "profile" => "See your username",
        s if s == UMA_PROTECTION_SCOPE => {
            "Protect resources you own and manage who may access them"
        }
        s if s == umagate_proto::owner::OWNER_SCOPE => {
            "Manage who may use your resources: shares, approvals and policies"
        }
        _ => "Access",
    }
}

/// The part of a redirect URI a user can judge: `scheme://host[:port]`, or a private-use
/// scheme (`com.example.app:`).
fn destination(uri: &str) -> &str {
    match uri.find("://") {
        Some(i) => {
            let start = i + 3;
            let end = uri[start..]
                .find(['/', '?'])
                .map_or(uri.len(), |j| start + j);
            &uri[..end]
        }
        None => uri.find(':').map_or(uri, |i| &uri[..=i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_is_the_origin() {
        assert_eq!(
            destination("https://app.example/cb?x=1"),
            "https://app.example"
        );
        assert_eq!(
            destination("http://127.0.0.1:5000/cb"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(destination("https://app.example?x"), "https://app.example");
        assert_eq!(destination("com.example.app:/oauth"), "com.example.app:");
    }
}
