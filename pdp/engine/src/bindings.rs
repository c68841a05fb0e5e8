//! The generated host bindings for `wit/policy.wit`, private to the engine (style rule 8).
//!
//! The request is passed borrowed (`Borrowing`): its strings are copied straight from the
//! [`PolicyInput`](umagate_core::policy::PolicyInput) into the guest, not cloned first.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "umagate:policy/policy@0.2.0",
    ownership: Borrowing {
        duplicate_if_necessary: true
    },
});
