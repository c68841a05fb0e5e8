//! `umagate admin token …`: tokens an administrator mints directly in the store — an access
//! token for a user through a client (`issue`), or an ID token signed with the AS's key (`id`).

use umagate_proto::claims::{Audience, IdTokenClaims};
use umagate_server::config::Config;
use umagate_server::keys::KeyRing;
use umagate_server::secrets;
use umagate_server::store::{Store, TokenKind, TokenRecord, UserRecord};

use super::Failure;

/// The user named by subject or username, and the client, both existing.
async fn user_and_client(store: &Store, user: &str, client: &str) -> Result<UserRecord, Failure> {
    let found = store.user_by_name(user).await.map_err(Failure::failed)?;
    let user = found.ok_or_else(|| Failure::Failed(format!("no user `{user}`")))?;
    if store
        .client(client)
        .await
        .map_err(Failure::failed)?
        .is_none()
    {
        return Err(Failure::Failed(format!("no client `{client}`")));
    }
    Ok(user)
}

/// Signs an ID token for `user`, audience `client`, with the AS's current key, and prints it.
pub(super) async fn id_token(
    store: &Store,
    config: &Config,
    user: &str,
    client: &str,
    now: i64,
) -> Result<(), Failure> {
    let user = user_and_client(store, user, client).await?;
    let keys = KeyRing::load_or_create(store, now)
        .await
        .map_err(Failure::failed)?;
    let claims = IdTokenClaims {
        iss: config.issuer(),
        sub: user.subject.clone(),
        aud: Audience::One(client.to_string()),
        exp: now + config.tokens.id_token_secs,
        iat: now,
        auth_time: Some(now),
        nonce: None,
        azp: None,
        email: user.email.clone(),
        email_verified: user.email.as_ref().map(|_| user.email_verified),
        name: None,
        preferred_username: Some(user.username.clone()),
        other: Default::default(),
    };
    let token = keys
        .signer()
        .sign("JWT", &claims)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    println!("{token}");
    Ok(())
}

/// Mints an access token for `user` through `client` and prints it.
pub(super) async fn issue_token(
    store: &Store,
    user: &str,
    client: &str,
    scope: &str,
    ttl: i64,
    now: i64,
) -> Result<(), Failure> {
    let user = user_and_client(store, user, client).await?;
    let token = secrets::new_handle().map_err(|e| Failure::Failed(e.to_string()))?;
    let family = secrets::new_handle().map_err(|e| Failure::Failed(e.to_string()))?;
    store
        .insert_token(&TokenRecord {
            token_hash: secrets::digest(&token),
            kind: TokenKind::Access,
            family_id: family,
            client_id: client.to_string(),
            subject: Some(user.subject.clone()),
            scope: scope.to_string(),
            issued_at: now,
            expires_at: now + ttl,
            used_at: None,
            revoked_at: None,
        })
        .await
        .map_err(Failure::failed)?;
    println!("{token}");
    eprintln!(
        "note: an access token of {} for {client} with `{scope}`, valid {ttl} s; shown only now",
        user.username
    );
    Ok(())
}
