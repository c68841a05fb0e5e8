;; owner-only.wat — example umagate policy written by hand as a component (text format).
;;
;; World: umagate:policy/policy@0.2.0 (wit/policy.wit). Exports
;;   decide: func(request: request) -> decision
;; For each requested scope: `permit` if party.subject is present and byte-equal to
;; resource.owner, otherwise `deny("not the owner")`. With no requested scope it answers for the
;; single scope "" the same way. explanation: "owner-only".
;;
;; Canonical ABI (layouts in pdp/engine/fixtures/README.md): `request` flattens to 29 core
;; values (> 16), so the host stores it in this module's memory (through `realloc`) and passes
;; one i32 pointer; `decision` flattens to 4 values (> 1), so `decide` returns one i32 pointer
;; to a 16-byte decision record. `post` (post-return) frees the heap after the host copied it.
;;
;; Load with wasmtime's `Component::new(&engine, wat_text)` (`wat` feature), or
;; `wasm-tools parse owner-only.wat -o owner-only.wasm`.
(component
  ;; ---------------------------------------------------------------------------------------
  ;; The WIT types of `umagate:policy/types@0.2.0`, imported as a types-only instance followed
  ;; by the two world-level `use` type imports: exactly the shape wit-component emits for
  ;; world `policy`. Field/case names and orders must match wit/policy.wit; layouts are in
  ;; pdp/engine/fixtures/README.md. The host defines nothing for these imports (wasmtime
  ;; needs no Linker definition for type-only imports).
  ;; ---------------------------------------------------------------------------------------
  (import "umagate:policy/types@0.2.0" (instance $types
    (type $resource-t (record
      (field "id" string)
      (field "type" (option string))
      (field "name" (option string))
      (field "owner" string)
      (field "scopes" (list string))
      (field "attributes" string)))
    (export "resource" (type $resource (eq $resource-t)))
    (type $party-t (record
      (field "subject" (option string))
      (field "issuer" (option string))
      (field "claims" string)))
    (export "party" (type $party (eq $party-t)))
    (type $context-t (record
      (field "now" s64)
      (field "auth-time" (option s64))
      (field "client-id" string)))
    (export "context" (type $context (eq $context-t)))
    (type $request-t (record
      (field "resource" $resource)
      (field "scopes" (list string))
      (field "party" $party)
      (field "context" $context)))
    (export "request" (type $request (eq $request-t)))
    (type $required-claim-t (record
      (field "name" (option string))
      (field "friendly-name" (option string))
      (field "claim-type" (option string))
      (field "claim-token-formats" (list string))
      (field "issuers" (list string))))
    (export "required-claim" (type $required-claim (eq $required-claim-t)))
    (type $outcome-t (variant
      (case "permit")
      (case "deny" string)
      (case "need-info" (list $required-claim))
      (case "ask-owner" string)))
    (export "outcome" (type $outcome (eq $outcome-t)))
    (type $scope-decision-t (record (field "scope" string) (field "outcome" $outcome)))
    (export "scope-decision" (type $scope-decision (eq $scope-decision-t)))
    (type $decision-t (record
      (field "scopes" (list $scope-decision))
      (field "explanation" string)))
    (export "decision" (type $decision (eq $decision-t)))))
  (alias export $types "request" (type $request-ty))
  (alias export $types "decision" (type $decision-ty))
  (import "request" (type $request (eq $request-ty)))
  (import "decision" (type $decision (eq $decision-ty)))
  (core module $m
    (memory (export "memory") 1)
    ;; Bump allocator: the canonical ABI `realloc` the host uses to lower the request, also
    ;; used by `decide` for its output. Grows memory as needed; traps if it cannot.
    (global $heap (mut i32) (i32.const 1024))
    (func $realloc (export "realloc")
      (param $old i32) (param $old-size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32) (local $pages i32)
      ;; p = heap rounded up to `align` (a power of two)
      (local.set $p (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (if (i32.lt_u (local.get $end) (local.get $p)) (then unreachable))   ;; wrapped past 4 GiB
      ;; pages needed in all = ceil(end / 64 KiB)
      (local.set $pages (i32.add (i32.shr_u (local.get $end) (i32.const 16))
                                 (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
      (if (i32.gt_u (local.get $pages) (memory.size))
        (then
          (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
            (then unreachable))))
      ;; keep the old contents on a real re-allocation (the host never asks for one)
      (if (local.get $old)
        (then (memory.copy (local.get $p) (local.get $old)
          (select (local.get $old-size) (local.get $size)
                  (i32.lt_u (local.get $old-size) (local.get $size))))))
      (global.set $heap (local.get $end))
      (local.get $p))
    ;; post-return: the host has copied the decision out, so free everything.
    (func (export "post") (param i32) (global.set $heap (i32.const 1024)))

    ;; Static data (the heap starts at 1024). Bytes 0..8 stay zero: the string "" (ptr 0, len 0).
    (data (i32.const 16) "not the owner")   ;; 13 bytes: deny reason
    (data (i32.const 32) "owner-only")      ;; 10 bytes: explanation

    ;; 1 if request.party.subject is some(s) and s == request.resource.owner byte for byte.
    (func $is-owner (param $req i32) (result i32)
      (local $a i32) (local $b i32) (local $len i32) (local $i i32)
      ;; party.subject: option<string> at +64 (discriminant u8), +68 ptr, +72 len
      (if (i32.eqz (i32.load8_u offset=64 (local.get $req))) (then (return (i32.const 0))))
      (local.set $len (i32.load offset=72 (local.get $req)))
      ;; resource.owner: string at +32 ptr, +36 len
      (if (i32.ne (local.get $len) (i32.load offset=36 (local.get $req))) (then (return (i32.const 0))))
      (local.set $a (i32.load offset=68 (local.get $req)))
      (local.set $b (i32.load offset=32 (local.get $req)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                      (i32.load8_u (i32.add (local.get $b) (local.get $i))))
            (then (return (i32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (i32.const 1))

    (func (export "decide") (param $req i32) (result i32)
      (local $ok i32) (local $src i32) (local $n i32) (local $arr i32) (local $i i32) (local $e i32)
      (local $out i32)
      (local.set $ok (call $is-owner (local.get $req)))
      (local.set $src (i32.load offset=56 (local.get $req)))   ;; request.scopes.ptr
      (local.set $n   (i32.load offset=60 (local.get $req)))   ;; request.scopes.len
      (if (i32.eqz (local.get $n))                             ;; no scope: decide for ""
        (then (local.set $src (i32.const 0)) (local.set $n (i32.const 1))))
      ;; list<scope-decision>: n elements of 20 bytes, align 4
      (local.set $arr (call $realloc (i32.const 0) (i32.const 0) (i32.const 4)
                                     (i32.mul (local.get $n) (i32.const 20))))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $e (i32.add (local.get $arr) (i32.mul (local.get $i) (i32.const 20))))
          ;; scope (+0 ptr, +4 len) = the i-th requested string, reused in place
          (i32.store offset=0 (local.get $e)
            (i32.load offset=0 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
          (i32.store offset=4 (local.get $e)
            (i32.load offset=4 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
          ;; outcome (+8 discriminant u8, payload at +12)
          (if (local.get $ok)
            (then (i32.store8 offset=8 (local.get $e) (i32.const 0)))        ;; permit
            (else
              (i32.store8 offset=8 (local.get $e) (i32.const 1))             ;; deny(string)
              (i32.store offset=12 (local.get $e) (i32.const 16))            ;;   ptr
              (i32.store offset=16 (local.get $e) (i32.const 13))))          ;;   len
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      ;; decision: 16 bytes, align 4
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 16)))
      (i32.store offset=0  (local.get $out) (local.get $arr))   ;; scopes.ptr
      (i32.store offset=4  (local.get $out) (local.get $n))     ;; scopes.len
      (i32.store offset=8  (local.get $out) (i32.const 32))     ;; explanation.ptr
      (i32.store offset=12 (local.get $out) (i32.const 10))     ;; explanation.len
      (local.get $out)))
  (core instance $i (instantiate $m))
  (func (export "decide") (param "request" $request) (result $decision)
    (canon lift (core func $i "decide")
      (memory (core memory $i "memory"))
      (realloc (core func $i "realloc"))
      (post-return (core func $i "post")))))
