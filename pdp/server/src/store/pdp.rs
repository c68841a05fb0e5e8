//! What the decision point keeps: owners' policy components with their versions, the bindings
//! that say which policy decides which resources, the decision log, and persisted claims
//! tokens (PCTs).
//!
//! Every owner-facing query is scoped to the owner. Components are stored base64-encoded (the
//! same text column on both engines) with their SHA-256.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, opt_text};

/// A policy with its latest version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// The policy's id.
    pub id: String,
    /// Its owner.
    pub owner: String,
    /// Its name, unique per owner.
    pub name: String,
    /// The newest version number.
    pub latest: i64,
    /// Creation time.
    pub created_at: i64,
}

/// One stored version of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersionRecord {
    /// The policy.
    pub policy_id: String,
    /// 1, 2, …
    pub version: i64,
    /// SHA-256 hex of the component.
    pub digest: String,
    /// Bytes of the component.
    pub size: i64,
    /// Upload time.
    pub created_at: i64,
}

/// What decides a set of an owner's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingRecord {
    /// The owner.
    pub owner: String,
    /// `resource`, `type` or `all`.
    pub target_kind: String,
    /// The resource id, the type, or `""` for `all`.
    pub target: String,
    /// The bound policy and version; `None` means "ask me" (the owner approves each request).
    pub policy: Option<(String, i64)>,
    /// Binding time.
    pub created_at: i64,
}

/// One line of the decision log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The line's id.
    pub id: String,
    /// The owner of the resource.
    pub owner: String,
    /// The resource.
    pub resource_id: String,
    /// The client that asked.
    pub client_id: String,
    /// The requesting party, once known.
    pub subject: Option<String>,
    /// `permit`, `deny`, `need_info` or `ask_owner` (the resource's overall result).
    pub outcome: String,
    /// The scopes decided and their outcomes, JSON.
    pub scopes: String,
    /// Why, in a sentence.
    pub explanation: String,
    /// Decision time.
    pub created_at: i64,
}

/// A persisted claims token, stored by hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PctRecord {
    /// SHA-256 of the PCT.
    pub token_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The requesting party.
    pub subject: String,
    /// The verified claims the party consented to persist, JSON.
    pub party: String,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// Binding target kinds, most specific first.
pub mod target {
    /// One resource, by id.
    pub const RESOURCE: &str = "resource";
    /// Every resource of a type.
    pub const TYPE: &str = "type";
    /// Every resource of the owner.
    pub const ALL: &str = "all";
}

const DECISION_COLUMNS: &str =
    "id, owner, resource_id, client_id, subject, outcome, scopes, explanation, created_at";
const PCT_COLUMNS: &str =
    "token_hash, client_id, subject, party, issued_at, expires_at, revoked_at";

fn binding(row: &AnyRow) -> Result<BindingRecord, StoreError> {
    let policy_id = opt_text(row, "policy_id")?;
    let version: Option<i64> = row.try_get("version")?;
    Ok(BindingRecord {
        owner: row.try_get("owner")?,
        target_kind: row.try_get("target_kind")?,
        target: row.try_get("target")?,
        policy: policy_id.zip(version),
        created_at: row.try_get("created_at")?,
    })
}

fn decision(row: &AnyRow) -> Result<DecisionRecord, StoreError> {
    Ok(DecisionRecord {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        resource_id: row.try_get("resource_id")?,
        client_id: row.try_get("client_id")?,
        subject: opt_text(row, "subject")?,
        outcome: row.try_get("outcome")?,
        scopes: row.try_get("scopes")?,
        explanation: row.try_get("explanation")?,
        created_at: row.try_get("created_at")?,
    })
}

fn pct(row: &AnyRow) -> Result<PctRecord, StoreError> {
    Ok(PctRecord {
        token_hash: row.try_get("token_hash")?,
        client_id: row.try_get("client_id")?,
        subject: row.try_get("subject")?,
        party: row.try_get("party")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?,
    })
}

/// Limits on what one owner may store.
#[derive(Clone, Copy, Debug)]
pub struct PolicyQuota {
    /// Policies per owner.
    pub policies: i64,
    /// Versions kept per policy.
    pub versions: i64,
}

/// Why a version could not be stored.
#[derive(Debug, PartialEq, Eq)]
pub enum PolicyInsert {
    /// Stored as this version of this policy.
    Stored {
        /// The policy's id.
        policy_id: String,
        /// The new version.
        version: i64,
    },
    /// The owner has too many policies, or the policy too many versions.
    OverQuota(&'static str),
}

/// The INSERT of one decision-log line.
pub(super) fn insert_decision(
    d: &DecisionRecord,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(INSERT_DECISION)
        .bind(&d.id)
        .bind(&d.owner)
        .bind(&d.resource_id)
        .bind(&d.client_id)
        .bind(&d.subject)
        .bind(&d.outcome)
        .bind(&d.scopes)
        .bind(&d.explanation)
        .bind(d.created_at)
}

const INSERT_DECISION: &str = "INSERT INTO decisions (id, owner, resource_id, client_id, subject, \
     outcome, scopes, explanation, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

impl Store {
    /// Adds a version of the owner's policy `name` (creating the policy as `new_id` if needed),
    /// within `quota`. Concurrent uploads of one policy may race for a version number; the
    /// loser fails on the primary key (an error, never an overwrite).
    #[allow(clippy::too_many_arguments, reason = "one row's columns")]
    pub async fn insert_policy_version(
        &self,
        owner: &str,
        name: &str,
        new_id: &str,
        digest: &str,
        component_base64: &str,
        size: i64,
        quota: PolicyQuota,
        now: i64,
    ) -> Result<PolicyInsert, StoreError> {
        let existing = sqlx::query("SELECT id FROM policies WHERE owner = $1 AND name = $2")
            .bind(owner)
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        let policy_id = match existing {
            Some(row) => row.try_get::<String, _>("id")?,
            None => {
                let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM policies WHERE owner = $1")
                    .bind(owner)
                    .fetch_one(self.pool())
                    .await?
                    .try_get("n")?;
                if count >= quota.policies {
                    return Ok(PolicyInsert::OverQuota("too many policies"));
                }
                sqlx::query(
                    "INSERT INTO policies (id, owner, name, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(new_id)
                .bind(owner)
                .bind(name)
                .bind(now)
                .execute(self.pool())
                .await?;
                new_id.to_string()
            }
        };
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(version), 0) AS v FROM policy_versions \
             WHERE policy_id = $1",
        )
        .bind(&policy_id)
        .fetch_one(self.pool())
        .await?;
        let (count, latest): (i64, i64) = (row.try_get("n")?, row.try_get("v")?);
        if count >= quota.versions {
            return Ok(PolicyInsert::OverQuota("too many versions of this policy"));
        }
        let version = latest + 1;
        sqlx::query(
            "INSERT INTO policy_versions (policy_id, version, digest, size, component, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&policy_id)
        .bind(version)
        .bind(digest)
        .bind(size)
        .bind(component_base64)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(PolicyInsert::Stored { policy_id, version })
    }

    /// The owner's policies with their latest version, by name.
    pub async fn policies(&self, owner: &str) -> Result<Vec<PolicyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.owner, p.name, p.created_at, COALESCE(MAX(v.version), 0) AS latest \
             FROM policies p LEFT JOIN policy_versions v ON v.policy_id = p.id \
             WHERE p.owner = $1 GROUP BY p.id, p.owner, p.name, p.created_at ORDER BY p.name",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PolicyRecord {
                    id: row.try_get("id")?,
                    owner: row.try_get("owner")?,
                    name: row.try_get("name")?,
                    latest: row.try_get("latest")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The versions of the owner's policy `policy_id`, oldest first (empty if not theirs).
    pub async fn policy_versions(
        &self,
        owner: &str,
        policy_id: &str,
    ) -> Result<Vec<PolicyVersionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.policy_id, v.version, v.digest, v.size, v.created_at \
             FROM policy_versions v JOIN policies p ON p.id = v.policy_id \
             WHERE p.owner = $1 AND v.policy_id = $2 ORDER BY v.version",
        )
        .bind(owner)
        .bind(policy_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PolicyVersionRecord {
                    policy_id: row.try_get("policy_id")?,
                    version: row.try_get("version")?,
                    digest: row.try_get("digest")?,
                    size: row.try_get("size")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The component (base64) and digest of the owner's policy version.
    pub async fn policy_component(
        &self,
        owner: &str,
        policy_id: &str,
        version: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT v.digest, v.component FROM policy_versions v \
             JOIN policies p ON p.id = v.policy_id \
             WHERE p.owner = $1 AND v.policy_id = $2 AND v.version = $3",
        )
        .bind(owner)
        .bind(policy_id)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| Ok((row.try_get("digest")?, row.try_get("component")?)))
            .transpose()
    }

    /// Binds (or re-binds) a target of the owner's to a policy version, or to "ask me".
    pub async fn bind(&self, b: &BindingRecord) -> Result<(), StoreError> {
        let (policy_id, version) = match &b.policy {
            Some((id, v)) => (Some(id.as_str()), Some(*v)),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO policy_bindings (owner, target_kind, target, policy_id, version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, target_kind, target) \
             DO UPDATE SET policy_id = excluded.policy_id, version = excluded.version, \
             created_at = excluded.created_at",
        )
        .bind(&b.owner)
        .bind(&b.target_kind)
        .bind(&b.target)
        .bind(policy_id)
        .bind(version)
        .bind(b.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a binding of the owner's; `Ok(false)` if there was none.
    pub async fn unbind(&self, owner: &str, kind: &str, target: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "DELETE FROM policy_bindings WHERE owner = $1 AND target_kind = $2 AND target = $3",
        )
        .bind(owner)
        .bind(kind)
        .bind(target)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The owner's bindings.
    pub async fn bindings(&self, owner: &str) -> Result<Vec<BindingRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT owner, target_kind, target, policy_id, version, created_at \
             FROM policy_bindings WHERE owner = $1 ORDER BY target_kind, target",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(binding).collect()
    }

    /// The binding that decides the owner's resource: the one for the resource, else the one
    /// for its type, else the owner-wide one.
    pub async fn binding_for(
        &self,
        owner: &str,
        resource_id: &str,
        resource_type: Option<&str>,
    ) -> Result<Option<BindingRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT owner, target_kind, target, policy_id, version, created_at \
             FROM policy_bindings WHERE owner = $1 AND ( \
             (target_kind = 'resource' AND target = $2) OR \
             (target_kind = 'type' AND target = $3 AND $3 <> '') OR target_kind = 'all')",
        )
        .bind(owner)
        .bind(resource_id)
        .bind(resource_type.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        let mut found: Vec<BindingRecord> = rows.iter().map(binding).collect::<Result<_, _>>()?;
        let rank = |b: &BindingRecord| {
            [target::RESOURCE, target::TYPE, target::ALL]
                .iter()
                .position(|k| *k == b.target_kind)
                .unwrap_or(usize::MAX)
        };
        found.sort_by_key(rank);
        Ok(found.into_iter().next())
    }

    /// Appends lines to the decision log, in one transaction.
    pub async fn log_decisions(&self, lines: &[DecisionRecord]) -> Result<(), StoreError> {
        self.record_grant(lines, None).await
    }

    /// The owner's newest decisions, optionally for one resource; at most `limit`.
    pub async fn decisions(
        &self,
        owner: &str,
        resource_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE owner = $1 \
             AND ($2 = '' OR resource_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(owner)
        .bind(resource_id.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(decision).collect()
    }

    /// Stores a PCT.
    pub async fn insert_pct(&self, p: &PctRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO pcts ({PCT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&p.token_hash)
        .bind(&p.client_id)
        .bind(&p.subject)
        .bind(&p.party)
        .bind(p.issued_at)
        .bind(p.expires_at)
        .bind(p.revoked_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The PCT with this hash, if it was issued to `client_id`, is unrevoked and unexpired.
    pub async fn live_pct(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<PctRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PCT_COLUMNS} FROM pcts WHERE token_hash = $1 AND client_id = $2 \
             AND revoked_at IS NULL AND expires_at > $3"
        ))
        .bind(token_hash)
        .bind(client_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(pct).transpose()
    }

    /// Revokes the PCT with this hash if it was issued to `client_id`; `Ok(false)` otherwise.
    pub async fn revoke_pct(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE pcts SET revoked_at = $1 WHERE token_hash = $2 AND client_id = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
