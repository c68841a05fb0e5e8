//! The generated host bindings for `wit/policy.wit`, private to the engine (style rule 8).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "umagate:policy/policy@0.1.0",
});
