//! The storage contract, run unchanged against both engines: every test below is one `async fn`
//! taking a fresh database, and `on_both!` instantiates it as `<name>::sqlite` and
//! `<name>::postgres`. PostgreSQL needs `UMAGATE_TEST_POSTGRES_URL` (scripts/test sets it; by
//! hand: `scripts/postgres start` and `export UMAGATE_TEST_POSTGRES_URL=$(scripts/postgres url)`);
//! without it the PostgreSQL tests fail, they are never skipped.
//!
//! The concurrency tests line tasks up on a barrier on a multi-thread runtime and demand that
//! exactly one of N simultaneous redemptions (or rotations) wins, in many rounds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails loudly"
)]

#[path = "store/support.rs"]
mod support;

use std::sync::Arc;

use sqlx::Connection;
use support::Db;
use tokio::sync::Barrier;
use umagate_proto::registration::ClientMetadata;
use umagate_proto::scope::Scopes;
use umagate_server::store::{
    AccessRequestRecord, AuthCode, BindingRecord, ClientRecord, CodeRedemption, KeyRecord,
    PctRecord, PolicyInsert, PolicyQuota, Quota, Refresh, ResourceRecord, RptRecord, SessionRecord,
    ShareRecord, Store, TicketRecord, TokenKind, TokenRecord, UserRecord, status,
};

/// Instantiates each named `async fn(Db)` once per engine, on a 4-worker multi-thread runtime.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                crate::support::run(crate::support::Engine::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                crate::support::run(crate::support::Engine::Postgres, super::$name).await;
            }
        }
    )*};
}

on_both!(
    migrations_are_idempotent,
    migrations_survive_concurrent_opens,
    users_insert_lookup_upsert,
    delete_user_revokes_tokens_and_sessions,
    clients_insert_upsert,
    delete_client_revokes_its_tokens,
    keys_publish_and_retire,
    tokens_round_trip,
    code_is_consumed_once,
    c8_two_concurrent_redemptions_one_wins,
    c8_sixteen_concurrent_redemptions_one_wins,
    refresh_rotates_once,
    f7_two_concurrent_rotations_one_wins,
    f7_sixteen_concurrent_rotations_one_wins,
    revoke_token_only_for_its_client,
    revoke_family_revokes_every_member,
    tokens_inserted_after_a_family_revocation_are_inactive,
    sessions_expire,
    purge_removes_only_the_expired,
    resources_are_scoped_to_their_pair_and_bounded,
    ticket_is_consumed_once_before_expiry,
    two_concurrent_ticket_consumptions_one_wins,
    sixteen_concurrent_ticket_consumptions_one_wins,
    rpts_round_trip_and_revoke_only_for_their_client,
    shares_match_by_resource_type_subject_email_and_expiry,
    an_access_request_is_decided_once,
    policy_versions_bindings_and_pcts,
    quota_counts_stop_at_the_limit_and_skip_the_dead,
);

/// A fixed "now": the store never reads the clock.
const NOW: i64 = 1_700_000_000;

fn user_record(subject: &str, username: &str) -> UserRecord {
    UserRecord {
        subject: subject.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: NOW,
    }
}

fn client_record(client_id: &str) -> ClientRecord {
    ClientRecord {
        client_id: client_id.into(),
        secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$c2VjcmV0".into()),
        metadata: ClientMetadata {
            redirect_uris: vec!["https://app.example.com/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            client_name: Some(format!("{client_id} app")),
            scope: Some(Scopes::parse("photos:read photos:write").unwrap()),
            ..ClientMetadata::default()
        },
        resource_server: false,
        dynamic: false,
        created_at: NOW,
    }
}

fn token_record(
    hash: &str,
    kind: TokenKind,
    family: &str,
    client: &str,
    subject: Option<&str>,
) -> TokenRecord {
    TokenRecord {
        token_hash: hash.into(),
        kind,
        family_id: family.into(),
        client_id: client.into(),
        subject: subject.map(str::to_string),
        scope: "openid photos:read".into(),
        issued_at: NOW,
        expires_at: NOW + 3600,
        used_at: None,
        revoked_at: None,
    }
}

fn code_record(hash: &str, family: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        family_id: family.into(),
        client_id: "app".into(),
        subject: "u-alice".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid photos:read".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: NOW - 5,
        expires_at: NOW + 60,
    }
}

async fn token(store: &Store, hash: &str) -> TokenRecord {
    store
        .token(hash)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("token {hash} missing"))
}

// === migrations ===

/// The number of migrations (each applied once, numbered from 1).
const LATEST_SCHEMA: i64 = 6;

async fn migrations_are_idempotent(db: Db) {
    let store = db.open().await;
    assert!(
        store
            .insert_user(&user_record("u-alice", "alice"))
            .await
            .unwrap()
    );
    drop(store);
    // Re-opening applies nothing twice and keeps the data.
    for _ in 0..2 {
        let store = db.open().await;
        assert_eq!(
            store.user("u-alice").await.unwrap(),
            Some(user_record("u-alice", "alice"))
        );
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM schema_version").await,
        LATEST_SCHEMA
    );
    assert_eq!(
        db.scalar("SELECT MAX(version) FROM schema_version").await,
        LATEST_SCHEMA
    );
}

/// SQLite keeps its WAL journal (a property of the file, so visible from outside the store);
/// PostgreSQL's durability settings are the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_is_in_wal_mode() {
    support::run(support::Engine::Sqlite, |db: Db| async move {
        let _store = db.open().await;
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    })
    .await;
}

/// Replicas (PostgreSQL) or a server and a CLI (SQLite) may start at the same moment.
async fn migrations_survive_concurrent_opens(db: Db) {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            Store::open(&db.url, 2).await.map(|_| ())
        }));
    }
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            panic!("a concurrent open failed: {e}");
        }
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM schema_version").await,
        LATEST_SCHEMA
    );
}

// === users ===

async fn users_insert_lookup_upsert(db: Db) {
    let store = db.open().await;
    let alice = user_record("u-alice", "alice");
    assert!(store.insert_user(&alice).await.unwrap());
    assert_eq!(store.user("u-alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user("u-nobody").await.unwrap(), None);
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);

    // Duplicates, by subject or by username, are refused without touching the original.
    assert!(
        !store
            .insert_user(&UserRecord {
                username: "alice2".into(),
                ..alice.clone()
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_user(&user_record("u-other", "alice"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_username("alice2").await.unwrap(), None);

    // Upsert by username keeps the subject (and the creation time), updates the rest.
    let changed = UserRecord {
        subject: "u-would-be-new".into(),
        email: None,
        email_verified: false,
        password_hash: "$argon2id$new".into(),
        created_at: NOW + 100,
        ..alice.clone()
    };
    store.upsert_user(&changed).await.unwrap();
    let stored = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(
        stored,
        UserRecord {
            subject: "u-alice".into(),
            created_at: NOW,
            ..changed.clone()
        },
        "upsert must keep the subject"
    );
    assert_eq!(store.user("u-would-be-new").await.unwrap(), None);

    // Upsert of a new username creates it.
    store
        .upsert_user(&user_record("u-bob", "bob"))
        .await
        .unwrap();
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
}

async fn delete_user_revokes_tokens_and_sessions(db: Db) {
    let store = db.open().await;
    store
        .insert_user(&user_record("u-alice", "alice"))
        .await
        .unwrap();
    store
        .insert_user(&user_record("u-bob", "bob"))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-a1",
            TokenKind::Access,
            "f-a",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-a2",
            TokenKind::Refresh,
            "f-a",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-b1",
            TokenKind::Access,
            "f-b",
            "app",
            Some("u-bob"),
        ))
        .await
        .unwrap();
    let session = SessionRecord {
        subject: "u-alice".into(),
        auth_time: NOW,
        expires_at: NOW + 3600,
    };
    store.insert_session("s-alice", &session).await.unwrap();

    assert!(store.delete_user("u-alice", NOW + 10).await.unwrap());
    assert_eq!(store.user("u-alice").await.unwrap(), None);
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    for hash in ["t-a1", "t-a2"] {
        let t = token(&store, hash).await;
        assert_eq!(t.revoked_at, Some(NOW + 10), "{hash}");
        assert!(!t.is_active(NOW + 11));
    }
    assert!(
        token(&store, "t-b1").await.is_active(NOW + 11),
        "another user's token stays active"
    );
    assert_eq!(store.session("s-alice", NOW + 11).await.unwrap(), None);
    assert!(store.user("u-bob").await.unwrap().is_some());
    assert!(
        !store.delete_user("u-alice", NOW + 20).await.unwrap(),
        "a second delete finds nothing"
    );
}

// === clients ===

async fn clients_insert_upsert(db: Db) {
    let store = db.open().await;
    let app = client_record("app");
    assert!(store.insert_client(&app).await.unwrap());
    assert_eq!(
        store.client("app").await.unwrap(),
        Some(app.clone()),
        "metadata round-trips"
    );
    assert!(
        !store
            .insert_client(&ClientRecord {
                resource_server: true,
                dynamic: false,
                ..app.clone()
            })
            .await
            .unwrap()
    );
    assert_eq!(
        store.client("app").await.unwrap(),
        Some(app.clone()),
        "a refused insert changes nothing"
    );
    assert_eq!(store.client("nobody").await.unwrap(), None);

    // Upsert replaces secret, metadata and role; the creation time stays.
    let replaced = ClientRecord {
        secret_hash: None,
        metadata: ClientMetadata {
            token_endpoint_auth_method: Some("none".into()),
            grant_types: vec!["authorization_code".into()],
            ..app.metadata.clone()
        },
        resource_server: true,
        dynamic: false,
        created_at: NOW + 500,
        ..app.clone()
    };
    store.upsert_client(&replaced).await.unwrap();
    assert_eq!(
        store.client("app").await.unwrap(),
        Some(ClientRecord {
            created_at: NOW,
            ..replaced
        })
    );

    // Upsert of a new id creates it.
    store
        .upsert_client(&client_record("another"))
        .await
        .unwrap();
    let ids: Vec<String> = store
        .clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["another", "app"]);
}

async fn delete_client_revokes_its_tokens(db: Db) {
    let store = db.open().await;
    store.insert_client(&client_record("app")).await.unwrap();
    store.insert_client(&client_record("other")).await.unwrap();
    store
        .insert_token(&token_record(
            "t-1",
            TokenKind::Access,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-2",
            TokenKind::Refresh,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record("t-3", TokenKind::Access, "f-2", "app", None))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-other",
            TokenKind::Access,
            "f-3",
            "other",
            None,
        ))
        .await
        .unwrap();

    assert!(store.delete_client("app", NOW + 10).await.unwrap());
    assert_eq!(store.client("app").await.unwrap(), None);
    for hash in ["t-1", "t-2", "t-3"] {
        assert_eq!(
            token(&store, hash).await.revoked_at,
            Some(NOW + 10),
            "{hash}"
        );
    }
    assert!(token(&store, "t-other").await.is_active(NOW + 11));
    assert!(!store.delete_client("app", NOW + 20).await.unwrap());
    assert_eq!(
        token(&store, "t-1").await.revoked_at,
        Some(NOW + 10),
        "the first revocation time stays"
    );
}

// === signing keys ===

fn key_record(kid: &str, created_at: i64) -> KeyRecord {
    KeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_der: format!("der-of-{kid}"),
        created_at,
        retired_at: None,
        expires_at: None,
    }
}

async fn keys_publish_and_retire(db: Db) {
    let store = db.open().await;
    let old = key_record("k-old", NOW);
    let new = key_record("k-new", NOW + 100);
    store.insert_key(&old).await.unwrap();
    store.insert_key(&new).await.unwrap();
    assert!(store.insert_key(&old).await.is_err(), "a kid is unique");
    assert_eq!(
        store.published_keys(NOW + 200).await.unwrap(),
        [new.clone(), old.clone()],
        "newest first"
    );

    assert!(
        store
            .retire_key("k-old", NOW + 200, NOW + 300)
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_key("k-old", NOW + 250, NOW + 999)
            .await
            .unwrap(),
        "retired once"
    );
    assert!(
        !store
            .retire_key("k-none", NOW + 250, NOW + 999)
            .await
            .unwrap()
    );
    let retired = KeyRecord {
        retired_at: Some(NOW + 200),
        expires_at: Some(NOW + 300),
        ..old
    };
    // Still published until expires_at, gone from then on.
    assert_eq!(
        store.published_keys(NOW + 299).await.unwrap(),
        [new.clone(), retired]
    );
    for later in [NOW + 300, NOW + 10_000] {
        assert_eq!(
            store.published_keys(later).await.unwrap(),
            std::slice::from_ref(&new)
        );
    }
}

// === tokens ===

async fn tokens_round_trip(db: Db) {
    let store = db.open().await;
    let full = TokenRecord {
        used_at: Some(NOW + 1),
        revoked_at: Some(NOW + 2),
        ..token_record("t-full", TokenKind::Refresh, "f-1", "app", Some("u-alice"))
    };
    let bare = token_record("t-bare", TokenKind::Access, "f-2", "rs", None);
    store.insert_token(&full).await.unwrap();
    store.insert_token(&bare).await.unwrap();
    assert_eq!(store.token("t-full").await.unwrap(), Some(full));
    assert_eq!(store.token("t-bare").await.unwrap(), Some(bare.clone()));
    assert_eq!(store.token("t-none").await.unwrap(), None);
    assert!(
        store.insert_token(&bare).await.is_err(),
        "a token hash is unique"
    );
    assert!(bare.is_active(NOW + 3599));
    assert!(!bare.is_active(NOW + 3600), "expired at expires_at");
}

// === codes ===

async fn code_is_consumed_once(db: Db) {
    let store = db.open().await;
    let code = code_record("c-1", "f-1");
    store.insert_code(&code).await.unwrap();
    assert!(
        store.insert_code(&code).await.is_err(),
        "a code hash is unique"
    );
    assert_eq!(
        store.redeem_code("c-1", NOW).await.unwrap(),
        CodeRedemption::Consumed(code)
    );
    for later in [NOW, NOW + 1, NOW + 10_000] {
        assert_eq!(
            store.redeem_code("c-1", later).await.unwrap(),
            CodeRedemption::Replayed {
                family_id: "f-1".into()
            }
        );
    }
    assert_eq!(
        store.redeem_code("c-unknown", NOW).await.unwrap(),
        CodeRedemption::Unknown
    );

    // Expiry is the caller's check: an expired code is still consumed (and then refused).
    let stale = code_record("c-2", "f-2");
    store.insert_code(&stale).await.unwrap();
    assert_eq!(
        store
            .redeem_code("c-2", stale.expires_at + 1)
            .await
            .unwrap(),
        CodeRedemption::Consumed(stale)
    );
}

/// `rounds` fresh codes, each presented by `n` tasks released together: exactly one consumes it,
/// every other one sees a replay of the right family.
async fn concurrent_redemptions(db: Db, n: usize, rounds: usize) {
    let store = db.open_with(u32::try_from(n).unwrap()).await;
    for round in 0..rounds {
        let hash = format!("c-{round}");
        let family = format!("f-{round}");
        store
            .insert_code(&code_record(&hash, &family))
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(n));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let (store, barrier, hash) = (store.clone(), barrier.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.redeem_code(&hash, NOW).await
            }));
        }
        let mut consumed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(CodeRedemption::Consumed(c)) => {
                    assert_eq!(c.family_id, family);
                    consumed += 1;
                }
                Ok(CodeRedemption::Replayed { family_id }) => assert_eq!(family_id, family),
                Ok(CodeRedemption::Unknown) => {
                    panic!("round {round}: an existing code reported unknown")
                }
                Err(e) => panic!("round {round}: a concurrent redemption failed: {e}"),
            }
        }
        assert_eq!(
            consumed, 1,
            "round {round}: {n} concurrent redemptions, exactly one consumes"
        );
    }
}

async fn c8_two_concurrent_redemptions_one_wins(db: Db) {
    concurrent_redemptions(db, 2, 50).await;
}

async fn c8_sixteen_concurrent_redemptions_one_wins(db: Db) {
    concurrent_redemptions(db, 16, 20).await;
}

// === refresh tokens ===

async fn refresh_rotates_once(db: Db) {
    let store = db.open().await;
    let refresh = token_record("r-1", TokenKind::Refresh, "f-1", "app", Some("u-alice"));
    store.insert_token(&refresh).await.unwrap();

    // F1: another client presenting it gets nothing and burns nothing.
    assert_eq!(
        store.rotate_refresh("r-1", "thief", NOW).await.unwrap(),
        Refresh::Invalid
    );
    assert!(
        token(&store, "r-1").await.is_active(NOW),
        "a foreign presentation must not burn the token"
    );

    match store.rotate_refresh("r-1", "app", NOW + 5).await.unwrap() {
        Refresh::Rotated(old) => assert_eq!(
            old,
            TokenRecord {
                used_at: Some(NOW + 5),
                ..refresh.clone()
            }
        ),
        other => panic!("expected a rotation, got {other:?}"),
    }
    assert!(!token(&store, "r-1").await.is_active(NOW + 6));
    // Replays by the owner are detected with the family; a foreigner still learns nothing.
    assert_eq!(
        store.rotate_refresh("r-1", "app", NOW + 6).await.unwrap(),
        Refresh::Replayed {
            family_id: "f-1".into()
        }
    );
    assert_eq!(
        store.rotate_refresh("r-1", "thief", NOW + 6).await.unwrap(),
        Refresh::Invalid
    );

    // A revoked refresh token presented again is a replay too.
    store
        .insert_token(&token_record("r-2", TokenKind::Refresh, "f-2", "app", None))
        .await
        .unwrap();
    assert!(store.revoke_token("r-2", "app", NOW).await.unwrap());
    assert_eq!(
        store.rotate_refresh("r-2", "app", NOW + 1).await.unwrap(),
        Refresh::Replayed {
            family_id: "f-2".into()
        }
    );

    // Expired, unknown, or not a refresh token: invalid, and nothing changes.
    store
        .insert_token(&token_record("r-3", TokenKind::Refresh, "f-3", "app", None))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh("r-3", "app", NOW + 3600)
            .await
            .unwrap(),
        Refresh::Invalid
    );
    assert_eq!(token(&store, "r-3").await.used_at, None);
    assert_eq!(
        store.rotate_refresh("r-none", "app", NOW).await.unwrap(),
        Refresh::Invalid
    );
    store
        .insert_token(&token_record("a-1", TokenKind::Access, "f-4", "app", None))
        .await
        .unwrap();
    assert_eq!(
        store.rotate_refresh("a-1", "app", NOW).await.unwrap(),
        Refresh::Invalid
    );
    assert!(token(&store, "a-1").await.is_active(NOW));
}

/// `rounds` fresh refresh tokens, each presented by `n` tasks released together: exactly one
/// rotates it, every other one sees a replay.
async fn concurrent_rotations(db: Db, n: usize, rounds: usize) {
    let store = db.open_with(u32::try_from(n).unwrap()).await;
    for round in 0..rounds {
        let hash = format!("r-{round}");
        let family = format!("f-{round}");
        store
            .insert_token(&token_record(
                &hash,
                TokenKind::Refresh,
                &family,
                "app",
                Some("u-alice"),
            ))
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(n));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let (store, barrier, hash) = (store.clone(), barrier.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.rotate_refresh(&hash, "app", NOW).await
            }));
        }
        let mut rotated = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(Refresh::Rotated(old)) => {
                    assert_eq!(old.family_id, family);
                    rotated += 1;
                }
                Ok(Refresh::Replayed { family_id }) => assert_eq!(family_id, family),
                Ok(Refresh::Invalid) => {
                    panic!("round {round}: a valid refresh token reported invalid")
                }
                Err(e) => panic!("round {round}: a concurrent rotation failed: {e}"),
            }
        }
        assert_eq!(
            rotated, 1,
            "round {round}: {n} concurrent rotations, exactly one wins"
        );
    }
}

async fn f7_two_concurrent_rotations_one_wins(db: Db) {
    concurrent_rotations(db, 2, 50).await;
}

async fn f7_sixteen_concurrent_rotations_one_wins(db: Db) {
    concurrent_rotations(db, 16, 20).await;
}

// === revocation ===

async fn revoke_token_only_for_its_client(db: Db) {
    let store = db.open().await;
    store
        .insert_token(&token_record(
            "t-1",
            TokenKind::Access,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    assert!(!store.revoke_token("t-1", "other", NOW).await.unwrap());
    assert!(
        token(&store, "t-1").await.is_active(NOW + 1),
        "another client cannot revoke it"
    );
    assert!(store.revoke_token("t-1", "app", NOW + 1).await.unwrap());
    assert!(
        !store.revoke_token("t-1", "app", NOW + 2).await.unwrap(),
        "revoked once"
    );
    let t = token(&store, "t-1").await;
    assert_eq!(t.revoked_at, Some(NOW + 1));
    assert!(!t.is_active(NOW + 2));
    assert!(!store.revoke_token("t-none", "app", NOW).await.unwrap());
}

async fn revoke_family_revokes_every_member(db: Db) {
    let store = db.open().await;
    store
        .insert_token(&token_record(
            "t-1",
            TokenKind::Access,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-2",
            TokenKind::Refresh,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-3",
            TokenKind::Access,
            "f-1",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store
        .insert_token(&token_record(
            "t-other",
            TokenKind::Access,
            "f-2",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    assert!(store.revoke_token("t-3", "app", NOW).await.unwrap());

    assert_eq!(
        store.revoke_family("f-1", NOW + 5).await.unwrap(),
        2,
        "counts the members still active"
    );
    assert_eq!(token(&store, "t-1").await.revoked_at, Some(NOW + 5));
    assert_eq!(token(&store, "t-2").await.revoked_at, Some(NOW + 5));
    assert_eq!(
        token(&store, "t-3").await.revoked_at,
        Some(NOW),
        "an earlier revocation keeps its time"
    );
    assert!(token(&store, "t-other").await.is_active(NOW + 6));
    assert_eq!(store.revoke_family("f-1", NOW + 6).await.unwrap(), 0);
    assert_eq!(store.revoke_family("f-none", NOW + 6).await.unwrap(), 0);
}

// === sessions and expiry ===

async fn sessions_expire(db: Db) {
    let store = db.open().await;
    let session = SessionRecord {
        subject: "u-alice".into(),
        auth_time: NOW - 10,
        expires_at: NOW + 100,
    };
    store.insert_session("s-1", &session).await.unwrap();
    assert!(
        store.insert_session("s-1", &session).await.is_err(),
        "a session hash is unique"
    );
    assert_eq!(
        store.session("s-1", NOW).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(store.session("s-1", NOW + 99).await.unwrap(), Some(session));
    assert_eq!(
        store.session("s-1", NOW + 100).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(store.session("s-none", NOW).await.unwrap(), None);
}

async fn purge_removes_only_the_expired(db: Db) {
    let store = db.open().await;
    let cutoff = NOW + 1000;
    // One of each kind just expired, one expiring exactly at the cut-off (kept), one later.
    for (suffix, expires_at) in [("old", cutoff - 1), ("edge", cutoff), ("new", cutoff + 1)] {
        store
            .insert_code(&AuthCode {
                expires_at,
                ..code_record(&format!("c-{suffix}"), "f")
            })
            .await
            .unwrap();
        store
            .insert_token(&TokenRecord {
                expires_at,
                ..token_record(&format!("t-{suffix}"), TokenKind::Access, "f", "app", None)
            })
            .await
            .unwrap();
        let session = SessionRecord {
            subject: "u-alice".into(),
            auth_time: NOW,
            expires_at,
        };
        store
            .insert_session(&format!("s-{suffix}"), &session)
            .await
            .unwrap();
    }
    assert_eq!(store.purge_expired(cutoff).await.unwrap(), 3);
    assert_eq!(store.token("t-old").await.unwrap(), None);
    assert!(store.token("t-edge").await.unwrap().is_some());
    assert!(store.token("t-new").await.unwrap().is_some());
    assert_eq!(
        store.redeem_code("c-old", NOW).await.unwrap(),
        CodeRedemption::Unknown
    );
    assert!(matches!(
        store.redeem_code("c-edge", NOW).await.unwrap(),
        CodeRedemption::Consumed(_)
    ));
    assert_eq!(store.session("s-old", NOW).await.unwrap(), None);
    assert!(store.session("s-new", NOW).await.unwrap().is_some());
    assert_eq!(
        store.purge_expired(cutoff).await.unwrap(),
        0,
        "nothing left to purge"
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM tokens").await, 2);
}

/// The race between a replay (which revokes the family) and the legitimate request still
/// inserting its new tokens: whatever the order, the family stays dead.
async fn tokens_inserted_after_a_family_revocation_are_inactive(db: Db) {
    let store = db.open().await;
    store
        .insert_token(&token_record(
            "t-r",
            TokenKind::Refresh,
            "f-late",
            "app",
            Some("u-alice"),
        ))
        .await
        .unwrap();
    store.revoke_family("f-late", NOW).await.unwrap();
    for (hash, kind) in [
        ("t-late-access", TokenKind::Access),
        ("t-late-refresh", TokenKind::Refresh),
    ] {
        store
            .insert_token(&token_record(hash, kind, "f-late", "app", Some("u-alice")))
            .await
            .unwrap();
        assert!(
            !token(&store, hash).await.is_active(NOW + 1),
            "{hash} is active"
        );
    }
    assert_eq!(
        store
            .rotate_refresh("t-late-refresh", "app", NOW + 1)
            .await
            .unwrap(),
        Refresh::Replayed {
            family_id: "f-late".into()
        },
        "a refresh token of a revoked family cannot rotate"
    );
    // The marker outlives the family's tokens only until they are purged.
    assert!(store.purge_expired(i64::MAX).await.unwrap() >= 3);
}

// === the protection API: resources and permission tickets ===

fn resource_record(id: &str, client: &str, owner: &str) -> ResourceRecord {
    ResourceRecord {
        id: id.into(),
        client_id: client.into(),
        owner: owner.into(),
        description: r#"{"resource_scopes":["view"]}"#.into(),
        created_at: NOW,
        updated_at: NOW,
    }
}

fn ticket_record(hash: &str) -> TicketRecord {
    TicketRecord {
        ticket_hash: hash.into(),
        client_id: "rs".into(),
        owner: "u-alice".into(),
        permissions: r#"[{"resource_id":"r1","resource_scopes":["view"]}]"#.into(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        presenter: Some("app".into()),
        party: Some(r#"{"subject":"u-bob"}"#.into()),
        request_id: None,
    }
}

async fn resources_are_scoped_to_their_pair_and_bounded(db: Db) {
    let store = db.open().await;
    assert!(
        store
            .insert_resource(&resource_record("r1", "rs", "u-alice"), 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_resource(&resource_record("r2", "rs", "u-alice"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_resource(&resource_record("r3", "rs", "u-alice"), 2)
            .await
            .unwrap(),
        "the pair is at its limit"
    );
    assert!(
        store
            .insert_resource(&resource_record("r4", "rs", "u-carol"), 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_resource(&resource_record("r5", "rs2", "u-alice"), 2)
            .await
            .unwrap()
    );
    assert_eq!(
        store.resource_ids("rs", "u-alice").await.unwrap(),
        ["r1", "r2"]
    );
    assert_eq!(
        store.resource("rs", "u-alice", "r1").await.unwrap(),
        Some(resource_record("r1", "rs", "u-alice"))
    );
    for (client, owner) in [("rs", "u-carol"), ("rs2", "u-alice")] {
        assert_eq!(store.resource(client, owner, "r1").await.unwrap(), None);
        assert!(
            !store
                .update_resource(client, owner, "r1", "{}", NOW + 1)
                .await
                .unwrap()
        );
        assert!(!store.delete_resource(client, owner, "r1").await.unwrap());
    }
    assert!(
        store
            .update_resource("rs", "u-alice", "r1", "{}", NOW + 1)
            .await
            .unwrap()
    );
    let updated = store
        .resource("rs", "u-alice", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.description.as_str(), updated.updated_at),
        ("{}", NOW + 1)
    );
    assert!(store.delete_resource("rs", "u-alice", "r1").await.unwrap());
    assert!(!store.delete_resource("rs", "u-alice", "r1").await.unwrap());
    assert_eq!(store.resource_ids("rs", "u-alice").await.unwrap(), ["r2"]);
}

async fn ticket_is_consumed_once_before_expiry(db: Db) {
    let store = db.open().await;
    store
        .insert_ticket(&ticket_record("t-1"), NOW)
        .await
        .unwrap();
    store
        .insert_ticket(&ticket_record("t-2"), NOW)
        .await
        .unwrap();
    assert!(
        store
            .insert_ticket(&ticket_record("t-1"), NOW)
            .await
            .is_err(),
        "a ticket hash is unique"
    );
    assert_eq!(store.consume_ticket("t-unknown", NOW).await.unwrap(), None);
    let consumed = store.consume_ticket("t-1", NOW + 1).await.unwrap().unwrap();
    assert_eq!(
        consumed,
        TicketRecord {
            consumed_at: Some(NOW + 1),
            ..ticket_record("t-1")
        }
    );
    assert_eq!(
        store.consume_ticket("t-1", NOW + 2).await.unwrap(),
        None,
        "single use"
    );
    assert_eq!(
        store.consume_ticket("t-2", NOW + 300).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store.ticket("t-2").await.unwrap().unwrap().consumed_at,
        None
    );
    // Inserting a ticket later removes the expired ones.
    store
        .insert_ticket(
            &TicketRecord {
                created_at: NOW + 400,
                expires_at: NOW + 700,
                ..ticket_record("t-3")
            },
            NOW + 400,
        )
        .await
        .unwrap();
    assert_eq!(store.ticket("t-2").await.unwrap(), None);
    assert!(store.ticket("t-3").await.unwrap().is_some());
}

/// `rounds` fresh tickets, each presented by `n` tasks released together: exactly one consumes it.
async fn concurrent_ticket_consumptions(db: Db, n: usize, rounds: usize) {
    let store = db.open_with(u32::try_from(n).unwrap()).await;
    for round in 0..rounds {
        let hash = format!("t-{round}");
        store
            .insert_ticket(&ticket_record(&hash), NOW)
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(n));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let (store, barrier, hash) = (store.clone(), barrier.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.consume_ticket(&hash, NOW + 1).await
            }));
        }
        let mut consumed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(Some(t)) => {
                    assert_eq!(t.ticket_hash, hash);
                    consumed += 1;
                }
                Ok(None) => {}
                Err(e) => panic!("round {round}: a concurrent consumption failed: {e}"),
            }
        }
        assert_eq!(
            consumed, 1,
            "round {round}: {n} concurrent consumptions, exactly one wins"
        );
    }
}

async fn two_concurrent_ticket_consumptions_one_wins(db: Db) {
    concurrent_ticket_consumptions(db, 2, 50).await;
}

async fn sixteen_concurrent_ticket_consumptions_one_wins(db: Db) {
    concurrent_ticket_consumptions(db, 16, 20).await;
}

// === RPTs ===

fn rpt_record(jti: &str, expires_at: i64) -> RptRecord {
    RptRecord {
        jti: jti.into(),
        client_id: "app".into(),
        subject: "u-bob".into(),
        rs_client_id: "rs".into(),
        owner: "u-alice".into(),
        permissions: r#"[{"resource_id":"r1","resource_scopes":["view"]}]"#.into(),
        issued_at: NOW,
        expires_at,
        revoked_at: None,
    }
}

async fn rpts_round_trip_and_revoke_only_for_their_client(db: Db) {
    let store = db.open().await;
    store
        .insert_rpt(&rpt_record("j-1", NOW + 300), NOW)
        .await
        .unwrap();
    store
        .insert_rpt(&rpt_record("j-2", NOW + 10), NOW)
        .await
        .unwrap();
    assert!(
        store
            .insert_rpt(&rpt_record("j-1", NOW + 300), NOW)
            .await
            .is_err(),
        "a jti is unique"
    );
    assert_eq!(
        store.rpt("j-1").await.unwrap(),
        Some(rpt_record("j-1", NOW + 300))
    );
    assert_eq!(store.rpt("j-unknown").await.unwrap(), None);
    // Only the client it was issued to revokes it, once.
    assert!(!store.revoke_rpt("j-1", "rs", NOW + 1).await.unwrap());
    assert_eq!(store.rpt("j-1").await.unwrap().unwrap().revoked_at, None);
    assert!(store.revoke_rpt("j-1", "app", NOW + 2).await.unwrap());
    assert!(!store.revoke_rpt("j-1", "app", NOW + 3).await.unwrap());
    assert_eq!(
        store.rpt("j-1").await.unwrap().unwrap().revoked_at,
        Some(NOW + 2)
    );
    assert!(!store.revoke_rpt("j-unknown", "app", NOW).await.unwrap());
    // The purge removes the records of expired RPTs, and only those.
    store
        .insert_rpt(&rpt_record("j-3", NOW + 400), NOW + 100)
        .await
        .unwrap();
    store.purge_expired(NOW + 100).await.unwrap();
    assert_eq!(store.rpt("j-2").await.unwrap(), None);
    assert!(store.rpt("j-1").await.unwrap().is_some());
    assert!(store.rpt("j-3").await.unwrap().is_some());
}

fn share_record(id: &str) -> ShareRecord {
    ShareRecord {
        id: id.into(),
        owner: "u-alice".into(),
        resource_id: Some("r1".into()),
        resource_type: None,
        party_subject: Some("u-bob".into()),
        party_email: None,
        scopes: vec!["view".into()],
        expires_at: None,
        created_at: NOW,
        revoked_at: None,
    }
}

async fn shares_match_by_resource_type_subject_email_and_expiry(db: Db) {
    let store = db.open().await;
    let by_type = ShareRecord {
        resource_id: None,
        resource_type: Some("album".into()),
        party_subject: None,
        party_email: Some("bob@example.com".into()),
        expires_at: Some(NOW + 100),
        ..share_record("s-2")
    };
    assert!(store.insert_share(&share_record("s-1"), 2).await.unwrap());
    assert!(store.insert_share(&by_type, 2).await.unwrap());
    assert!(
        !store.insert_share(&share_record("s-3"), 2).await.unwrap(),
        "limit"
    );
    let ids = |v: Vec<ShareRecord>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let found = |rid, ty, sub, email, now| {
        let store = store.clone();
        async move {
            ids(store
                .applicable_shares("u-alice", rid, ty, sub, email, now)
                .await
                .unwrap())
        }
    };
    assert_eq!(found("r1", None, "u-bob", None, NOW).await, ["s-1"]);
    assert_eq!(
        found("r2", Some("album"), "", Some("bob@example.com"), NOW).await,
        ["s-2"]
    );
    assert!(
        found("r2", Some("album"), "", Some("bob@example.com"), NOW + 100)
            .await
            .is_empty(),
        "expired"
    );
    assert!(
        found("r2", None, "", None, NOW).await.is_empty(),
        "no type, no email: nothing"
    );
    assert!(found("r1", None, "u-carol", None, NOW).await.is_empty());
    assert!(
        store
            .applicable_shares("u-carol", "r1", None, "u-bob", None, NOW)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.revoke_share("u-carol", "s-1", NOW).await.unwrap(),
        None,
        "another owner's"
    );
    assert!(
        store
            .revoke_share("u-alice", "s-1", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.revoke_share("u-alice", "s-1", NOW).await.unwrap(),
        None,
        "once"
    );
    assert_eq!(ids(store.shares("u-alice").await.unwrap()), ["s-2"]);
}

async fn an_access_request_is_decided_once(db: Db) {
    let store = db.open().await;
    let request = AccessRequestRecord {
        id: "q-1".into(),
        owner: "u-alice".into(),
        rs_client_id: "rs".into(),
        client_id: "app".into(),
        subject: "u-bob".into(),
        permissions: r#"[{"resource_id":"r1","resource_scopes":["view"]}]"#.into(),
        status: status::PENDING.into(),
        granted: None,
        grant_expires_at: None,
        created_at: NOW,
        decided_at: None,
    };
    assert!(store.insert_access_request(&request, 1).await.unwrap());
    let second = AccessRequestRecord {
        id: "q-2".into(),
        ..request.clone()
    };
    assert!(
        !store.insert_access_request(&second, 1).await.unwrap(),
        "pending limit"
    );
    assert!(
        !store
            .decide_access_request("u-carol", "q-1", status::APPROVED, None, None, NOW)
            .await
            .unwrap()
    );
    assert!(
        store
            .decide_access_request("u-alice", "q-1", status::DENIED, None, None, NOW + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_access_request("u-alice", "q-1", status::APPROVED, None, None, NOW + 2)
            .await
            .unwrap(),
        "decided once"
    );
    let stored = store.access_request("q-1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.decided_at),
        (status::DENIED, Some(NOW + 1))
    );
    assert_eq!(
        store
            .access_requests("u-alice", Some(status::PENDING), 10)
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .access_requests("u-alice", None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn policy_versions_bindings_and_pcts(db: Db) {
    let store = db.open().await;
    let quota = PolicyQuota {
        policies: 1,
        versions: 2,
    };
    let put = |name: &'static str, id: &'static str| {
        let store = store.clone();
        async move {
            store
                .insert_policy_version("u-alice", name, id, "d", "AAAA", 3, quota, NOW)
                .await
                .unwrap()
        }
    };
    let first = put("p", "id-1").await;
    assert_eq!(
        first,
        PolicyInsert::Stored {
            policy_id: "id-1".into(),
            version: 1
        }
    );
    assert_eq!(
        put("p", "id-x").await,
        PolicyInsert::Stored {
            policy_id: "id-1".into(),
            version: 2
        }
    );
    assert!(matches!(put("p", "id-x").await, PolicyInsert::OverQuota(_)));
    assert!(matches!(put("q", "id-2").await, PolicyInsert::OverQuota(_)));
    assert_eq!(store.policies("u-alice").await.unwrap()[0].latest, 2);
    assert!(
        store
            .policy_versions("u-carol", "id-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .policy_component("u-carol", "id-1", 1)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.policy_component("u-alice", "id-1", 2).await.unwrap(),
        Some(("d".into(), "AAAA".into()))
    );

    let binding = |kind: &str, target: &str, policy: Option<(String, i64)>| BindingRecord {
        owner: "u-alice".into(),
        target_kind: kind.into(),
        target: target.into(),
        policy,
        created_at: NOW,
    };
    store.bind(&binding("all", "", None)).await.unwrap();
    store
        .bind(&binding("type", "album", Some(("id-1".into(), 1))))
        .await
        .unwrap();
    store
        .bind(&binding("type", "album", Some(("id-1".into(), 2))))
        .await
        .unwrap();
    let for_r = |id: &'static str, ty: Option<&'static str>| {
        let store = store.clone();
        async move { store.binding_for("u-alice", id, ty).await.unwrap().unwrap() }
    };
    assert_eq!(
        for_r("r1", Some("album")).await.policy,
        Some(("id-1".into(), 2)),
        "rebinding replaces"
    );
    assert_eq!(for_r("r1", Some("photo")).await.target_kind, "all");
    store
        .bind(&binding("resource", "r1", Some(("id-1".into(), 1))))
        .await
        .unwrap();
    assert_eq!(
        for_r("r1", Some("album")).await.target_kind,
        "resource",
        "most specific wins"
    );
    assert!(
        store
            .binding_for("u-carol", "r1", None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.unbind("u-alice", "type", "album").await.unwrap());
    assert!(!store.unbind("u-alice", "type", "album").await.unwrap());
    assert_eq!(store.bindings("u-alice").await.unwrap().len(), 2);

    let pct = PctRecord {
        token_hash: "h-1".into(),
        client_id: "app".into(),
        subject: "u-bob".into(),
        party: "{}".into(),
        issued_at: NOW,
        expires_at: NOW + 10,
        revoked_at: None,
    };
    store.insert_pct(&pct).await.unwrap();
    assert!(
        store.live_pct("h-1", "other", NOW).await.unwrap().is_none(),
        "bound to its client"
    );
    assert!(
        store
            .live_pct("h-1", "app", NOW + 10)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(store.live_pct("h-1", "app", NOW).await.unwrap(), Some(pct));
    assert!(!store.revoke_pct("h-1", "other", NOW).await.unwrap());
    assert!(store.revoke_pct("h-1", "app", NOW).await.unwrap());
    assert!(store.live_pct("h-1", "app", NOW).await.unwrap().is_none());
}

async fn quota_counts_stop_at_the_limit_and_skip_the_dead(db: Db) {
    let store = db.open().await;
    for i in 0..3 {
        store
            .insert_ticket(&ticket_record(&format!("q-{i}")), NOW)
            .await
            .unwrap();
    }
    let reached = |limit: i64, now: i64| {
        let store = store.clone();
        async move {
            store
                .quota_reached(Quota::Tickets, "rs", "u-alice", limit, now)
                .await
                .unwrap()
        }
    };
    assert!(reached(3, NOW).await);
    assert!(!reached(4, NOW).await);
    store.consume_ticket("q-0", NOW).await.unwrap().unwrap();
    assert!(
        !reached(3, NOW).await,
        "a consumed ticket is not outstanding"
    );
    assert!(!reached(1, NOW + 300).await, "nor an expired one");
    assert!(
        !store
            .quota_reached(Quota::Tickets, "rs", "u-carol", 1, NOW)
            .await
            .unwrap()
    );
    for quota in [Quota::Codes, Quota::Tokens, Quota::Rpts, Quota::Pcts] {
        assert!(
            !store
                .quota_reached(quota, "app", "u-bob", 1, NOW)
                .await
                .unwrap(),
            "{quota:?}"
        );
    }
}
