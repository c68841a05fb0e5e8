//! `umagate admin user|client|keys|token …`: the admin API's operations, run directly on the store.
//!
//! The store is found as `umagate serve` finds it (`--config`, `--database-url` /
//! `UMAGATE_DATABASE_URL`), and records are built by the same constructors the admin API and
//! dynamic registration use. A running AS sees new users and clients at once, and rotated keys
//! at its next key reload (within a minute). Passwords are read from standard input, never from
//! the command line; a confidential client's secret is printed once.
//!
//! Output is aligned plain text on stdout. Errors are one `error: …` line on stderr: exit 2 for
//! bad input (arguments, configuration, metadata), 1 for failures (unknown or existing record,
//! storage).

mod output;
mod tokens;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use umagate_proto::registration::ClientMetadata;
use umagate_proto::scope::Scopes;
use umagate_proto::{ErrorCode, ErrorResponse, Secret};
use umagate_server::config::Config;
use umagate_server::keys::KeyRing;
use umagate_server::store::{ClientRecord, Store, UserRecord};

use self::output::{Table, time};
use super::serve::ServeArgs;

/// Arguments of `umagate admin`.
#[derive(Debug, Args)]
#[command(mut_arg("listen", |a| a.hide(true)), mut_arg("issuer", |a| a.hide(true)))]
pub struct AdminArgs {
    /// Where the store is: the same options as `umagate serve`.
    #[command(flatten)]
    store: ServeArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Local user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Registered clients and resource servers.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Access tokens issued by the administrator.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue an access token for a user through a registered client, without the user's
    /// sign-in (for scripts and the owner API, e.g. `--scope uma_owner`); prints it once.
    Issue {
        /// The user: subject or username.
        user: String,
        /// The client the token is issued to.
        #[arg(long)]
        client: String,
        /// Space-separated scopes.
        #[arg(long)]
        scope: String,
        /// Lifetime in seconds (at most 30 days).
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// Sign an OpenID Connect ID token for a user, issued to a client, as the AS's login would
    /// (for pushing as a UMA `claim_token` from scripts); prints it.
    Id {
        /// The user: subject or username.
        user: String,
        /// The client (the token's audience).
        #[arg(long)]
        client: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is the first line of standard input.
    Add {
        /// Login name.
        username: String,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Mark the email address as verified.
        #[arg(long, requires = "email")]
        email_verified: bool,
    },
    /// List users.
    List,
    /// Delete a user (by subject or username) and revoke their tokens.
    Delete {
        /// Subject or username.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client; prints the secret of a confidential client once.
    Add {
        /// The client id.
        client_id: String,
        /// A public client (no secret; `token_endpoint_auth_method` = `none`).
        #[arg(long, conflicts_with = "resource_server")]
        public: bool,
        /// A trusted resource server: gets `uma_protection` by client credentials.
        #[arg(long)]
        resource_server: bool,
        /// OAuth redirect URI (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// UMA claims redirect URI (repeatable).
        #[arg(long = "claims-redirect-uri", value_name = "URI")]
        claims_redirect_uris: Vec<String>,
        /// Grant type (repeatable); default `client_credentials` for a resource server, else
        /// `authorization_code`.
        #[arg(long = "grant-type", value_name = "GRANT")]
        grant_types: Vec<String>,
        /// The scopes the client may request, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// Human-readable name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List clients.
    List,
    /// Delete a client and revoke its tokens.
    Delete {
        /// The client id.
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the published signing keys.
    List,
    /// Add a new signing key; the others stop signing and stay published for
    /// `keys.rotation_overlap_secs`.
    Rotate,
}

/// Why a command did not complete.
enum Failure {
    /// The operator's input is wrong: exit 2.
    BadInput(String),
    /// Something failed or does not exist: exit 1.
    Failed(String),
}

impl Failure {
    fn failed(e: impl std::fmt::Display) -> Self {
        Self::Failed(e.to_string())
    }

    /// A record constructor's refusal: bad input, unless the AS itself failed.
    fn refused(e: ErrorResponse) -> Self {
        let message = e
            .description()
            .map_or_else(|| e.code().to_string(), str::to_string);
        if e.code() == ErrorCode::ServerError {
            Self::Failed(message)
        } else {
            Self::BadInput(message)
        }
    }
}

impl AdminArgs {
    /// Runs the subcommand.
    pub fn run(self) -> ExitCode {
        match self.execute() {
            Ok(()) => ExitCode::SUCCESS,
            Err(Failure::BadInput(message)) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Err(Failure::Failed(message)) => {
                eprintln!("error: {message}");
                ExitCode::from(1)
            }
        }
    }

    fn execute(self) -> Result<(), Failure> {
        let config = self.store.config().map_err(Failure::BadInput)?;
        let now = umagate_server::http::now();
        // Everything that can be checked without the store is checked first.
        let task = match self.command {
            AdminCommand::User(UserCommand::Add {
                username,
                email,
                email_verified,
            }) => {
                let password = read_password()?;
                let user = UserRecord::create(&username, &password, email, email_verified, now)
                    .map_err(Failure::refused)?;
                Task::AddUser(user)
            }
            AdminCommand::User(UserCommand::List) => Task::ListUsers,
            AdminCommand::User(UserCommand::Delete { user }) => Task::DeleteUser(user),
            AdminCommand::Client(ClientCommand::Add {
                client_id,
                public,
                resource_server,
                redirect_uris,
                claims_redirect_uris,
                grant_types,
                scope,
                name,
            }) => {
                let scope = scope
                    .map(|s| Scopes::parse(&s))
                    .transpose()
                    .map_err(|e| Failure::BadInput(format!("--scope: {e}")))?;
                let metadata = ClientMetadata {
                    redirect_uris,
                    claims_redirect_uris,
                    token_endpoint_auth_method: public.then(|| "none".to_string()),
                    grant_types,
                    client_name: name,
                    scope,
                    ..ClientMetadata::default()
                };
                let (client, secret) =
                    ClientRecord::create(Some(client_id), metadata, resource_server, now)
                        .map_err(Failure::refused)?;
                Task::AddClient(Box::new(client), secret)
            }
            AdminCommand::Client(ClientCommand::List) => Task::ListClients,
            AdminCommand::Client(ClientCommand::Delete { client_id }) => {
                Task::DeleteClient(client_id)
            }
            AdminCommand::Keys(KeysCommand::List) => Task::ListKeys,
            AdminCommand::Keys(KeysCommand::Rotate) => Task::RotateKeys,
            AdminCommand::Token(TokenCommand::Issue {
                user,
                client,
                scope,
                ttl,
            }) => {
                let scope = Scopes::parse(&scope)
                    .map_err(|e| Failure::BadInput(format!("--scope: {e}")))?;
                if !(1..=30 * 86_400).contains(&ttl) {
                    return Err(Failure::BadInput("--ttl: 1 to 2592000 seconds".into()));
                }
                Task::IssueToken {
                    user,
                    client,
                    scope: scope.to_string(),
                    ttl,
                }
            }
            AdminCommand::Token(TokenCommand::Id { user, client }) => {
                Task::IdToken { user, client }
            }
        };
        let runtime = super::runtime().map_err(Failure::Failed)?;
        runtime.block_on(async move {
            let store = Store::open(&config.database_url(), 2)
                .await
                .map_err(Failure::failed)?;
            task.run(&store, &config, now).await
        })
    }
}

/// A checked command, ready to touch the store.
enum Task {
    AddUser(UserRecord),
    ListUsers,
    DeleteUser(String),
    AddClient(Box<ClientRecord>, Option<Secret>),
    ListClients,
    DeleteClient(String),
    ListKeys,
    RotateKeys,
    IssueToken {
        user: String,
        client: String,
        scope: String,
        ttl: i64,
    },
    IdToken {
        user: String,
        client: String,
    },
}

impl Task {
    async fn run(self, store: &Store, config: &Config, now: i64) -> Result<(), Failure> {
        match self {
            Self::AddUser(user) => {
                if !store.insert_user(&user).await.map_err(Failure::failed)? {
                    return Err(Failure::Failed(format!(
                        "username `{}` is taken",
                        user.username
                    )));
                }
                Table::new(&["subject", &user.subject])
                    .row(vec!["username".into(), user.username])
                    .print();
            }
            Self::ListUsers => {
                let mut table =
                    Table::new(&["SUBJECT", "USERNAME", "EMAIL", "VERIFIED", "CREATED"]);
                for u in store.users().await.map_err(Failure::failed)? {
                    let verified = if u.email_verified { "yes" } else { "no" };
                    table = table.row(vec![
                        u.subject,
                        u.username,
                        u.email.unwrap_or_default(),
                        verified.into(),
                        time(u.created_at),
                    ]);
                }
                table.print();
            }
            Self::DeleteUser(user) => delete_user(store, config, &user, now).await?,
            Self::AddClient(client, secret) => {
                if !store
                    .insert_client(&client)
                    .await
                    .map_err(Failure::failed)?
                {
                    return Err(Failure::Failed(format!(
                        "client `{}` exists",
                        client.client_id
                    )));
                }
                let mut table = Table::new(&["client_id", &client.client_id]);
                if let Some(secret) = secret {
                    table = table.row(vec!["client_secret".into(), secret.expose().to_string()]);
                    eprintln!(
                        "note: the client secret is shown only now; the store keeps only its hash"
                    );
                }
                table.print();
            }
            Self::ListClients => {
                let mut table = Table::new(&[
                    "CLIENT_ID",
                    "AUTH",
                    "RESOURCE_SERVER",
                    "GRANT_TYPES",
                    "SCOPE",
                    "CREATED",
                ]);
                for c in store.clients().await.map_err(Failure::failed)? {
                    let m = &c.metadata;
                    table = table.row(vec![
                        c.client_id.clone(),
                        m.token_endpoint_auth_method
                            .clone()
                            .unwrap_or_else(|| "client_secret_basic".into()),
                        if c.resource_server { "yes" } else { "no" }.into(),
                        m.grant_types.join(","),
                        m.scope
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        time(c.created_at),
                    ]);
                }
                table.print();
            }
            Self::DeleteClient(client_id) => {
                if !store
                    .delete_client(&client_id, now)
                    .await
                    .map_err(Failure::failed)?
                {
                    return Err(Failure::Failed(format!("no client `{client_id}`")));
                }
                println!("deleted client {client_id}; its tokens are revoked");
                if config.clients.iter().any(|c| c.client_id == client_id) {
                    eprintln!(
                        "warning: `{client_id}` is declared in the configuration and comes back at the next start"
                    );
                }
            }
            Self::ListKeys => list_keys(store, now).await?,
            Self::IssueToken {
                user,
                client,
                scope,
                ttl,
            } => tokens::issue_token(store, &user, &client, &scope, ttl, now).await?,
            Self::IdToken { user, client } => {
                tokens::id_token(store, config, &user, &client, now).await?
            }
            Self::RotateKeys => {
                let published = store.published_keys(now).await.map_err(Failure::failed)?;
                let keys = KeyRing::load_or_create(store, now)
                    .await
                    .map_err(Failure::failed)?;
                if !published.iter().any(|k| k.retired_at.is_none()) {
                    // A store without a signing key just got its first one: nothing to retire.
                    println!("new signing key {}", keys.signer().kid());
                    return Ok(());
                }
                let overlap = config.keys.rotation_overlap_secs;
                let kid = keys
                    .rotate(store, now, overlap)
                    .await
                    .map_err(Failure::failed)?;
                println!(
                    "new signing key {kid}; the previous keys stay published until {}",
                    time(now.saturating_add(overlap))
                );
            }
        }
        Ok(())
    }
}

async fn delete_user(store: &Store, config: &Config, user: &str, now: i64) -> Result<(), Failure> {
    let Some(record) = store.user_by_name(user).await.map_err(Failure::failed)? else {
        return Err(Failure::Failed(format!("no user `{user}`")));
    };
    if !store
        .delete_user(&record.subject, now)
        .await
        .map_err(Failure::failed)?
    {
        return Err(Failure::Failed(format!("no user `{user}`")));
    }
    println!(
        "deleted user {} ({}); their sessions are closed and tokens revoked",
        record.username, record.subject
    );
    if config.users.iter().any(|u| u.username == record.username) {
        eprintln!(
            "warning: `{}` is declared in the configuration and comes back at the next start",
            record.username
        );
    }
    Ok(())
}

async fn list_keys(store: &Store, now: i64) -> Result<(), Failure> {
    let keys = store.published_keys(now).await.map_err(Failure::failed)?;
    // The newest unretired key signs (see `umagate_server::keys`).
    let signer = keys
        .iter()
        .find(|k| k.retired_at.is_none())
        .map(|k| k.kid.clone());
    let mut table = Table::new(&["KID", "ALG", "STATUS", "CREATED", "RETIRED", "EXPIRES"]);
    for k in keys {
        let status = match (&k.retired_at, signer.as_deref() == Some(k.kid.as_str())) {
            (Some(_), _) => "retired",
            (None, true) => "signing",
            (None, false) => "standby",
        };
        let or_dash = |t: Option<i64>| t.map_or_else(|| "-".into(), time);
        table = table.row(vec![
            k.kid,
            k.alg,
            status.into(),
            time(k.created_at),
            or_dash(k.retired_at),
            or_dash(k.expires_at),
        ]);
    }
    table.print();
    Ok(())
}

/// The first line of standard input, without its line ending. On a terminal, echo is turned
/// off while it is typed (best effort, through `stty`).
fn read_password() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let _echo = terminal.then(EchoOff::new);
    if terminal {
        eprint!("password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        eprintln!();
    }
    read.map_err(|e| Failure::Failed(format!("cannot read the password: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Failure::BadInput(
            "no password: give it as the first line of standard input".into(),
        ));
    }
    Ok(password.to_string())
}

/// Terminal echo off until dropped.
struct EchoOff;

impl EchoOff {
    fn new() -> Self {
        stty("-echo");
        Self
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        stty("echo");
    }
}

fn stty(setting: &str) {
    let _ = std::process::Command::new("stty")
        .arg(setting)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::null())
        .status();
}
