//! Lines for the decision log, through umagate's `host.log` import.
//!
//! umagate keeps a bounded number of lines and bytes per evaluation and drops the rest, so log
//! what explains a decision, not everything. Outside WebAssembly (unit tests on the host) these
//! functions do nothing.
//!
//! ```
//! use umagate_policies_sdk::log;
//!
//! log::info(format!("amount {} above threshold {}", 1200, 500));
//! log::debug("checked the share-domain attribute");
//! ```

/// Logs a line at `debug` level.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref());
}

/// Logs a line at `info` level.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref());
}

/// Logs a line at `warn` level.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref());
}

#[derive(Clone, Copy)]
enum Level {
    Debug,
    Info,
    Warn,
}

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    use crate::wit::umagate::policy::host;
    let level = match level {
        Level::Debug => host::Level::Debug,
        Level::Info => host::Level::Info,
        Level::Warn => host::Level::Warn,
    };
    host::log(level, message);
}

/// The generated import traps outside WebAssembly, so the host build does nothing.
#[cfg(not(target_arch = "wasm32"))]
fn write(level: Level, message: &str) {
    let _ = (level, message);
}
