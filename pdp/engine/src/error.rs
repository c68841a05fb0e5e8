//! Why a policy could not be loaded, and why an evaluation was denied.

/// A component refused by [`crate::PolicyEngine::load`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Larger than `Limits::max_component_bytes`.
    #[error("component is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// The component's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid WebAssembly component (a core module, garbage, or invalid).
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// Declares more than the engine's limits allow (e.g. a larger minimum memory).
    #[error("component exceeds the engine's limits: {0}")]
    ExceedsLimits(String),
    /// Imports something outside the policy world and the sandboxed WASI interfaces.
    #[error("component imports `{0}`, which policies may not use")]
    ForbiddenImport(String),
    /// Does not export `decide` with the world's signature, or an import has the wrong type.
    #[error("component does not match the umagate:policy@0.2.0 world: {0}")]
    WrongWorld(String),
    /// Reading or writing the compiled-artifact cache failed.
    #[error("artifact cache: {0}")]
    Cache(#[from] std::io::Error),
}

/// Why an evaluation ended in a deny-all instead of the policy's own decision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The input broke the world's promises (unknown or duplicate scope, too large).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Every evaluation slot stayed busy for the whole timeout.
    #[error("engine saturated: no evaluation slot within the timeout")]
    Overloaded,
    /// The epoch deadline passed.
    #[error("policy exceeded its time limit")]
    Timeout,
    /// The instance tried to grow memory past the cap (at instantiation or later).
    #[error("policy exceeded its memory limit")]
    MemoryLimit,
    /// The Wasm stack overflowed.
    #[error("policy overflowed its stack")]
    StackOverflow,
    /// Any other trap.
    #[error("policy trapped: {0}")]
    Trap(String),
    /// Instantiation failed for a reason other than memory.
    #[error("policy could not be instantiated: {0}")]
    Instantiate(String),
    /// The decision's strings exceed `Limits::max_output_bytes`.
    #[error("policy output exceeds {0} bytes")]
    OutputTooLarge(usize),
    /// The decision does not cover the requested scopes exactly once each.
    #[error("policy returned an invalid decision: {0}")]
    InvalidOutput(String),
}
