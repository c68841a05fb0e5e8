//! What the browser-facing pages share: cookies, HTML escaping, and throttles for guessable
//! credentials (passwords and client secrets).

pub(crate) mod cookie;
pub(crate) mod html;
pub(crate) mod throttle;
