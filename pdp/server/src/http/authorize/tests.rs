//! The authorization endpoint over a real router and a real SQLite store, driven like a browser.
//! Each test is named after the security statement it checks (security.md §1).

mod browser;
mod flow;
mod redirect;
mod userinfo;
