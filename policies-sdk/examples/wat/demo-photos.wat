;; demo-photos.wat — the sample policy `umagate dev` binds for alice.
;;
;; Per requested scope (or the resource itself when none is requested):
;; - a requesting party the AS could not identify (no subject) is asked for one: need-info with
;;   the claim `sub` from an OpenID Connect ID token;
;; - `view` (and the resource itself) is permitted to any identified party;
;; - every other scope (`delete`, …) goes to the owner: ask-owner.
;; The explanation is "demo-photos". Shares and the owner's answers are applied by the AS before
;; the policy is asked, so what alice shares or approves is granted without it.
;;
;; Hand-written against the layouts in pdp/engine/fixtures/README.md; static data lives below
;; 1024, the bump allocator above (reset after each call by `post`).
(component
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
    (global $heap (mut i32) (i32.const 1024))
    (func $realloc (export "realloc")
      (param $old i32) (param $old-size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32) (local $pages i32)
      (local.set $p (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (if (i32.lt_u (local.get $end) (local.get $p)) (then unreachable))
      (local.set $pages (i32.add (i32.shr_u (local.get $end) (i32.const 16))
                                 (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
      (if (i32.gt_u (local.get $pages) (memory.size))
        (then
          (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
            (then unreachable))))
      (if (local.get $old)
        (then (memory.copy (local.get $p) (local.get $old)
          (select (local.get $old-size) (local.get $size)
                  (i32.lt_u (local.get $old-size) (local.get $size))))))
      (global.set $heap (local.get $end))
      (local.get $p))
    (func (export "post") (param i32) (global.set $heap (i32.const 1024)))

    ;; 0..15 stay zero: the "" scope read when none is requested is (ptr 0, len 0).
    (data (i32.const 100) "sub")                      ;; 3 bytes: required claim name
    (data (i32.const 104) "identity")                 ;; 8 bytes: its friendly name
    (data (i32.const 120) "http://openid.net/specs/openid-connect-core-1_0.html#IDToken") ;; 60
    (data (i32.const 200) "\78\00\00\00\3c\00\00\00") ;; list<string> [ (120, 60) ]
    ;; required-claim at 256 (52 bytes): name some(100,3), friendly-name some(104,8),
    ;; claim-type none, claim-token-formats (200,1), issuers (0,0).
    (data (i32.const 256)
      "\01\00\00\00\64\00\00\00\03\00\00\00"
      "\01\00\00\00\68\00\00\00\08\00\00\00"
      "\00\00\00\00\00\00\00\00\00\00\00\00"
      "\c8\00\00\00\01\00\00\00"
      "\00\00\00\00\00\00\00\00")
    (data (i32.const 320) "view")                     ;; 4 bytes
    (data (i32.const 330) "the owner approves this scope") ;; 29 bytes
    (data (i32.const 370) "demo-photos")              ;; 11 bytes: explanation

    ;; Whether the scope at (ptr, len) is "" or "view".
    (func $open (param $ptr i32) (param $len i32) (result i32)
      (if (i32.eqz (local.get $len)) (then (return (i32.const 1))))
      (if (i32.ne (local.get $len) (i32.const 4)) (then (return (i32.const 0))))
      (i32.eq (i32.load (local.get $ptr)) (i32.load (i32.const 320))))

    (func (export "decide") (param $req i32) (result i32)
      (local $anonymous i32) (local $src i32) (local $n i32) (local $arr i32) (local $i i32)
      (local $e i32) (local $ptr i32) (local $len i32) (local $out i32)
      (local.set $anonymous (i32.eqz (i32.load8_u offset=64 (local.get $req))))  ;; party.subject
      (local.set $src (i32.load offset=56 (local.get $req)))                    ;; scopes.ptr
      (local.set $n   (i32.load offset=60 (local.get $req)))                    ;; scopes.len
      (if (i32.eqz (local.get $n))
        (then (local.set $src (i32.const 0)) (local.set $n (i32.const 1))))
      (local.set $arr (call $realloc (i32.const 0) (i32.const 0) (i32.const 4)
                                     (i32.mul (local.get $n) (i32.const 20))))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $e (i32.add (local.get $arr) (i32.mul (local.get $i) (i32.const 20))))
          (local.set $ptr (i32.load offset=0 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
          (local.set $len (i32.load offset=4 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
          (i32.store offset=0 (local.get $e) (local.get $ptr))
          (i32.store offset=4 (local.get $e) (local.get $len))
          (if (local.get $anonymous)
            (then
              (i32.store8 offset=8 (local.get $e) (i32.const 2))    ;; need-info
              (i32.store offset=12 (local.get $e) (i32.const 256))  ;;   list ptr
              (i32.store offset=16 (local.get $e) (i32.const 1)))   ;;   list len
            (else
              (if (call $open (local.get $ptr) (local.get $len))
                (then (i32.store8 offset=8 (local.get $e) (i32.const 0)))   ;; permit
                (else
                  (i32.store8 offset=8 (local.get $e) (i32.const 3))       ;; ask-owner
                  (i32.store offset=12 (local.get $e) (i32.const 330))
                  (i32.store offset=16 (local.get $e) (i32.const 29))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 16)))
      (i32.store offset=0  (local.get $out) (local.get $arr))
      (i32.store offset=4  (local.get $out) (local.get $n))
      (i32.store offset=8  (local.get $out) (i32.const 370))
      (i32.store offset=12 (local.get $out) (i32.const 11))
      (local.get $out)))
  (core instance $i (instantiate $m))
  (func (export "decide") (param "request" $request) (result $decision)
    (canon lift (core func $i "decide")
      (memory (core memory $i "memory"))
      (realloc (core func $i "realloc"))
      (post-return (core func $i "post")))))
