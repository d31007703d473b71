//! The desired-state file: who should be in which group, per service, as JSON. The README's "The
//! desired-state file" section is the full reference; in short:
//!
//! ```json
//! {
//!   "connections": {
//!     "video": {"service": "uplynk", "user_id_env": "UPLYNK_USER_ID", "api_key_env": "UPLYNK_API_KEY"},
//!     "cdn":   {"service": "traffic_ops", "base_url_env": "TO_URL", "username_env": "TO_USER",
//!               "password_env": "TO_PASSWORD", "cdn": "CDN-in-a-Box"}
//!   },
//!   "people": {"alice": {"video": "gu137664292b46a1a286cdf79b1a9bm8", "cdn": "alice"}},
//!   "groups": [
//!     {"service": "uplynk", "connection": "video", "failover_group_id": "e8d6b5cb940c40cc9ec6ad081a38f3f0",
//!      "members": ["t345643dn409198f523flniu1234n34i", "@alice"]},
//!     {"service": "traffic_ops", "connection": "cdn", "federation_id": 1, "members": ["admin", 3, "@alice"]}
//!   ]
//! }
//! ```
//!
//! A connection names **environment variables** for everything secret (`*_env`), never the secrets: unknown
//! keys such as `password` are refused, so a secret cannot slip into the file. `@name` is a person from
//! `people`, replaced by their identity on the group's connection. Traffic Ops members are usernames or
//! integer user IDs, resolved against the server before planning (an unknown user fails that group, and
//! nothing is written to it).

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::grant::MemberEntry;
use super::source::{FileFormat, Problem, Source};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::membership::{
    DanubeGroupListing, DanubeGroupUsers, Desired, EntuityConfigSet, Reconcile, Service,
    TrafficOpsFederationUsers, UplynkAllowedOwners, UserRef,
};

/// How to reach one service account: a base URL and the names of the environment variables holding its
/// credentials.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Connection {
    /// The service.
    pub service: Service,
    /// The base URL, literally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The variable holding the base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url_env: Option<String>,
    /// Uplynk: the variable holding the user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id_env: Option<String>,
    /// Uplynk, Danube Cloud: the variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Entuity, Danube Cloud, Traffic Ops: the variable holding the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_env: Option<String>,
    /// Entuity, Danube Cloud, Traffic Ops: the variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// The variable that, set to `1`, accepts invalid certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_env: Option<String>,
    /// The variable naming a PEM file whose certificates this connection trusts: a private CA, or the
    /// server's own self-signed certificate, pinned ([`ClientBuilder::trust_pem_file`](crate::ClientBuilder::trust_pem_file)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file_env: Option<String>,
    /// Traffic Ops: the API version (4.0 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Traffic Ops: the CDN whose federations an export of everything lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<String>,
    /// How many requests a minute the service allows these credentials: the client never sends more,
    /// across every group of a run ([`RequestBudget`](crate::retry::RequestBudget)). Danube Cloud defaults
    /// to its documented 45; `0` turns the budget off. Other services have none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
}

/// How a group's desired list is applied.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mode {
    /// The group becomes exactly the list.
    #[default]
    Exact,
    /// The list's members are added; nobody is removed.
    Additive,
}

impl Mode {
    fn is_exact(&self) -> bool {
        *self == Mode::Exact
    }
}

/// One group and who should be in it. Unknown keys are refused.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "service", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum DesiredGroup {
    /// An Uplynk failover group's allowed owners.
    Uplynk {
        /// The connection's name.
        connection: String,
        /// The failover group.
        failover_group_id: String,
        /// User IDs, or people (`@name`); each may end (`{"member": ..., "until": "2027-01-31"}`).
        #[cfg_attr(feature = "schema", schemars(with = "Vec<super::grant::NamedEntry>"))]
        members: Vec<MemberEntry>,
        /// `exact` (default): the group becomes exactly `members`; `additive`: members are added, never removed.
        #[serde(default, skip_serializing_if = "Mode::is_exact")]
        mode: Mode,
        /// Members the tool never adds nor removes (accounts another system owns); people as `@name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unmanaged: Vec<UserRef>,
        /// A plan leaving fewer members than this is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_members: Option<usize>,
    },
    /// An Entuity user group on a config set.
    Entuity {
        /// The connection's name.
        connection: String,
        /// The config set.
        config_set_id: String,
        /// The user group.
        user_group: String,
        /// Usernames, or people (`@name`); each may end (`{"member": ..., "until": "2027-01-31"}`).
        #[cfg_attr(feature = "schema", schemars(with = "Vec<super::grant::NamedEntry>"))]
        members: Vec<MemberEntry>,
        /// `exact` (default): the group becomes exactly `members`; `additive`: members are added, never removed.
        #[serde(default, skip_serializing_if = "Mode::is_exact")]
        mode: Mode,
        /// Members the tool never adds nor removes (accounts another system owns); people as `@name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unmanaged: Vec<UserRef>,
        /// A plan leaving fewer members than this is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_members: Option<usize>,
    },
    /// A Danube Cloud group's users.
    Danube {
        /// The connection's name.
        connection: String,
        /// The group.
        group: String,
        /// Usernames, or people (`@name`); each may end (`{"member": ..., "until": "2027-01-31"}`).
        #[cfg_attr(feature = "schema", schemars(with = "Vec<super::grant::NamedEntry>"))]
        members: Vec<MemberEntry>,
        /// `exact` (default): the group becomes exactly `members`; `additive`: members are added, never removed.
        #[serde(default, skip_serializing_if = "Mode::is_exact")]
        mode: Mode,
        /// Members the tool never adds nor removes (accounts another system owns); people as `@name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unmanaged: Vec<UserRef>,
        /// A plan leaving fewer members than this is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_members: Option<usize>,
    },
    /// A Traffic Ops federation's users.
    TrafficOps {
        /// The connection's name.
        connection: String,
        /// The federation.
        federation_id: u64,
        /// Usernames or integer user IDs, or people (`@name`); each may end (`{"member": ..., "until": ...}`).
        members: Vec<MemberEntry>,
        /// `exact` (default): the group becomes exactly `members`; `additive`: members are added, never removed.
        #[serde(default, skip_serializing_if = "Mode::is_exact")]
        mode: Mode,
        /// Members the tool never adds nor removes (accounts another system owns); people as `@name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unmanaged: Vec<UserRef>,
        /// A plan leaving fewer members than this is refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_members: Option<usize>,
    },
}

impl DesiredGroup {
    /// The group's mode, unmanaged members (as written: people as `@name`) and minimum size.
    pub fn rules(&self) -> (Mode, &[UserRef], Option<usize>) {
        match self {
            DesiredGroup::Uplynk {
                mode,
                unmanaged,
                min_members,
                ..
            }
            | DesiredGroup::Entuity {
                mode,
                unmanaged,
                min_members,
                ..
            }
            | DesiredGroup::Danube {
                mode,
                unmanaged,
                min_members,
                ..
            }
            | DesiredGroup::TrafficOps {
                mode,
                unmanaged,
                min_members,
                ..
            } => (*mode, unmanaged, *min_members),
        }
    }

    /// The group's member entries, as written.
    pub fn members(&self) -> &[MemberEntry] {
        match self {
            DesiredGroup::Uplynk { members, .. }
            | DesiredGroup::Entuity { members, .. }
            | DesiredGroup::Danube { members, .. }
            | DesiredGroup::TrafficOps { members, .. } => members,
        }
    }

    /// The group's member entries, to change (`offboard`).
    pub fn members_mut(&mut self) -> &mut Vec<MemberEntry> {
        match self {
            DesiredGroup::Uplynk { members, .. }
            | DesiredGroup::Entuity { members, .. }
            | DesiredGroup::Danube { members, .. }
            | DesiredGroup::TrafficOps { members, .. } => members,
        }
    }

    /// The connection this group uses.
    pub fn connection(&self) -> &str {
        match self {
            DesiredGroup::Uplynk { connection, .. }
            | DesiredGroup::Entuity { connection, .. }
            | DesiredGroup::Danube { connection, .. }
            | DesiredGroup::TrafficOps { connection, .. } => connection,
        }
    }
    /// The service of this group.
    pub fn service(&self) -> Service {
        match self {
            DesiredGroup::Uplynk { .. } => Service::Uplynk,
            DesiredGroup::Entuity { .. } => Service::Entuity,
            DesiredGroup::Danube { .. } => Service::Danube,
            DesiredGroup::TrafficOps { .. } => Service::TrafficOps,
        }
    }
    /// How the file names this group: `connection/failover_group_id`, `connection/config_set_id/user_group`,
    /// `connection/group` or `connection/federation_id`.
    pub fn key(&self) -> String {
        match self {
            DesiredGroup::Uplynk {
                connection,
                failover_group_id,
                ..
            } => format!("{connection}/{failover_group_id}"),
            DesiredGroup::Entuity {
                connection,
                config_set_id,
                user_group,
                ..
            } => {
                format!("{connection}/{config_set_id}/{user_group}")
            }
            DesiredGroup::Danube {
                connection, group, ..
            } => format!("{connection}/{group}"),
            DesiredGroup::TrafficOps {
                connection,
                federation_id,
                ..
            } => format!("{connection}/{federation_id}"),
        }
    }
}

/// A whole desired-state file.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DesiredState {
    /// The JSON Schema the file names for editors (`"$schema"`); not used otherwise.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The longest grant, in days from today, that a member's `until` may give (absent: no limit). Entries
    /// without `until` are not limited by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_grant_days: Option<u32>,
    /// Named connections.
    pub connections: BTreeMap<String, Connection>,
    /// People, each with their identity on the connections they use (connection name → username or user
    /// ID); a group lists a person as `@name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub people: BTreeMap<String, BTreeMap<String, UserRef>>,
    /// Members never removed from any group (break-glass admins): people as `@name`, or identities
    /// (usernames, user IDs) matched on every connection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<UserRef>,
    /// The groups and their members.
    pub groups: Vec<DesiredGroup>,
    /// The SHA-256 (lowercase hex) of the text this state was read from ([`from_json`](Self::from_json)),
    /// so a saved plan can name the file it came from; `None` for a state made in code.
    #[serde(skip)]
    source_sha256: Option<String>,
    /// The instant `until` dates are compared with: when the file was read, unless set
    /// ([`as_of`](Self::as_of)).
    #[serde(skip, default = "OffsetDateTime::now_utc")]
    as_of: OffsetDateTime,
}

/// Two states are equal when they say the same (connections, people, groups), whatever text they came from.
impl PartialEq for DesiredState {
    fn eq(&self, other: &Self) -> bool {
        self.connections == other.connections
            && self.max_grant_days == other.max_grant_days
            && self.people == other.people
            && self.protected == other.protected
            && self.groups == other.groups
    }
}
impl Eq for DesiredState {}

impl DesiredState {
    /// Parses and checks a JSON file's text ([`validate_text`](Self::validate_text)).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] listing every problem with its line and column.
    pub fn from_json(text: &str) -> Result<DesiredState> {
        Self::validate_text(text, FileFormat::Json, None).map_err(problems_error)
    }

    /// Reads and checks a desired-state file, or a directory of them ([`validate`](Self::validate)).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] listing every problem with its place, or a file that cannot be read.
    pub fn read(path: &Path) -> Result<DesiredState> {
        Self::validate(path).map_err(problems_error)
    }

    /// Reads `path` and checks everything that needs no service, returning **every** problem with its
    /// file, line and column: syntax, unknown keys (with the likely one meant), references to people and
    /// connections, groups or members listed twice, dates, `max_grant_days`, unmanaged and protected lists.
    ///
    /// `path` is a `.json` file, a `.toml` file (with the `toml` feature), or a directory: every `*.json`
    /// and `*.toml` file in it (not below it), merged in name order: their connections and people are
    /// merged (a name defined in two files is a problem naming both places), their groups and protected
    /// lists joined.
    ///
    /// # Errors
    /// The problems found (a file that cannot be read is one).
    pub fn validate(path: &Path) -> std::result::Result<DesiredState, Vec<Problem>> {
        let cannot = |e: std::io::Error| {
            vec![Problem {
                place: None,
                pointer: String::new(),
                message: format!("cannot read {}: {e}", path.display()),
            }]
        };
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(cannot)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && FileFormat::of_path(p).is_some())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(vec![Problem {
                    place: None,
                    pointer: String::new(),
                    message: format!("{} holds no *.json or *.toml file", path.display()),
                }]);
            }
            let mut texts = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file).map_err(cannot)?;
                texts.push((file.display().to_string(), text));
            }
            return Self::validate_texts(&texts);
        }
        finish(read_source(path)?)
    }

    /// Checks several files' texts as one, as [`validate`](Self::validate) does for a directory: each
    /// `(name, text)` in the format its name's extension gives (JSON otherwise), merged in the order given.
    ///
    /// # Errors
    /// The problems found.
    pub fn validate_texts(
        files: &[(String, String)],
    ) -> std::result::Result<DesiredState, Vec<Problem>> {
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        for (name, text) in files {
            let format = FileFormat::of_path(Path::new(name)).unwrap_or(FileFormat::Json);
            match Source::parse(text, format, Some(name)).map_err(|p| with_hint(p, text, format)) {
                Ok(source) => sources.push(source),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        finish(Source::merge(sources)?)
    }

    /// Checks a file's `text` in `format` as [`validate`](Self::validate) does; `file` names it in places.
    ///
    /// # Errors
    /// The problems found.
    pub fn validate_text(
        text: &str,
        format: FileFormat,
        file: Option<&str>,
    ) -> std::result::Result<DesiredState, Vec<Problem>> {
        finish(Source::parse(text, format, file).map_err(|p| with_hint(p, text, format))?)
    }

    /// The same state with `until` dates compared with `now` instead of the moment it was read.
    pub fn as_of(mut self, now: OffsetDateTime) -> Self {
        self.as_of = now;
        self
    }

    /// The instant `until` dates are compared with.
    pub fn now(&self) -> OffsetDateTime {
        self.as_of
    }

    pub(crate) fn from_parts(
        connections: BTreeMap<String, Connection>,
        people: BTreeMap<String, BTreeMap<String, UserRef>>,
        protected: Vec<UserRef>,
        groups: Vec<DesiredGroup>,
    ) -> Self {
        DesiredState {
            schema: None,
            max_grant_days: None,
            connections,
            people,
            protected,
            groups,
            source_sha256: None,
            as_of: OffsetDateTime::now_utc(),
        }
    }

    pub(crate) fn with_schema(mut self, schema: Option<String>) -> Self {
        self.schema = schema;
        self
    }

    pub(crate) fn with_max_grant_days(mut self, days: Option<u32>) -> Self {
        self.max_grant_days = days;
        self
    }

    /// A state made in code, with no file behind it.
    pub fn new(
        connections: BTreeMap<String, Connection>,
        people: BTreeMap<String, BTreeMap<String, UserRef>>,
        groups: Vec<DesiredGroup>,
    ) -> Self {
        Self::from_parts(connections, people, Vec::new(), groups)
    }

    /// The SHA-256 (lowercase hex) of the text [`from_json`](Self::from_json) read, when it was read from
    /// one; of a directory, the SHA-256 of its files' texts in name order, each followed by a NUL byte.
    pub fn source_sha256(&self) -> Option<&str> {
        self.source_sha256.as_deref()
    }

    /// The file's text: pretty-printed JSON that [`from_json`](Self::from_json) reads back unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the state cannot be written as JSON (it always can).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|text| text + "\n")
            .map_err(|e| Error::invalid_input("desired-state file", e.to_string()))
    }

    /// The environment variables a connection needs that `env` does not provide (empty when it can connect).
    pub fn missing_variables(
        &self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<String> {
        let Some(c) = self.connections.get(name) else {
            return vec![];
        };
        let mut needed: Vec<&String> = Vec::new();
        // Uplynk has a default host, so its base URL variable is optional.
        if c.base_url.is_none() && c.service != Service::Uplynk {
            needed.extend(&c.base_url_env);
        }
        match c.service {
            Service::Uplynk => needed.extend(c.user_id_env.iter().chain(&c.api_key_env)),
            Service::Danube if c.api_key_env.is_some() => needed.extend(&c.api_key_env),
            _ => needed.extend(c.username_env.iter().chain(&c.password_env)),
        }
        needed
            .into_iter()
            .filter(|v| env(v).is_none())
            .cloned()
            .collect()
    }

    /// The identity connection `name` logs in as, from the environment: Uplynk's user ID, or the username
    /// of Entuity, Traffic Ops and a Danube Cloud login. `None` for a Danube Cloud API key (the key does not
    /// say whose it is: list that user in `protected`).
    pub fn login_identity(
        &self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let c = self.connections.get(name)?;
        let variable = match c.service {
            Service::Uplynk => c.user_id_env.as_deref(),
            Service::Danube if c.api_key_env.is_some() => None,
            _ => c.username_env.as_deref(),
        };
        variable.and_then(env).filter(|v| !v.is_empty())
    }

    /// The request budget of connection `name`: its `requests_per_minute`, Danube Cloud's 45 when unset,
    /// none for `0` or another service without one.
    pub fn budget(&self, name: &str) -> Option<crate::retry::RequestBudget> {
        let c = self.connections.get(name)?;
        let per_minute = match (c.requests_per_minute, c.service) {
            (Some(n), _) => n,
            (None, Service::Danube) => crate::retry::RequestBudget::DANUBE_CLOUD.requests,
            (None, _) => 0,
        };
        (per_minute > 0).then(|| {
            crate::retry::RequestBudget::new(per_minute, std::time::Duration::from_secs(60))
        })
    }

    /// Builds every connection's client from the environment (`env` looks a variable up; an empty value
    /// counts as missing).
    ///
    /// # Errors
    /// [`Error::Config`] naming **every** missing variable of every connection at once, before anything is
    /// read; or the first client that cannot be built.
    pub fn clients(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, Client>> {
        self.clients_with(env, None)
    }

    /// As [`clients`](Self::clients), every client with `retry` as its retry policy when given.
    ///
    /// # Errors
    /// As [`clients`](Self::clients).
    pub fn clients_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        retry: Option<&crate::RetryPolicy>,
    ) -> Result<BTreeMap<String, Client>> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let missing: Vec<String> = self
            .connections
            .keys()
            .filter_map(|name| {
                let vars = self.missing_variables(name, &env);
                (!vars.is_empty()).then(|| format!("`{name}` needs {}", vars.join(", ")))
            })
            .collect();
        if !missing.is_empty() {
            return Err(Error::Config(format!(
                "environment variables not set: {}",
                missing.join("; ")
            )));
        }
        self.connections
            .keys()
            .map(|name| Ok((name.clone(), self.client_with(name, &env, retry)?)))
            .collect()
    }

    /// Builds the client of connection `name` from the environment (`env` looks a variable up).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming what is wrong in the file (and, for JSON mistakes and duplicate keys, the line); [`Error::Config`](crate::Error::Config) for a connection whose variables are missing or whose client cannot be built.
    pub fn client(&self, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Client> {
        self.client_with(name, env, None)
    }

    fn client_with(
        &self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
        retry: Option<&crate::RetryPolicy>,
    ) -> Result<Client> {
        let c = self.connections.get(name).ok_or_else(|| {
            Error::invalid_input("connection", format!("no connection named `{name}`"))
        })?;
        let missing = self.missing_variables(name, env);
        if !missing.is_empty() {
            return Err(Error::Config(format!(
                "connection `{name}` needs {}",
                missing.join(", ")
            )));
        }
        let var = |v: &Option<String>, what: &str| -> Result<String> {
            v.as_deref().and_then(env).ok_or_else(|| {
                Error::Config(format!(
                    "connection `{name}` names no variable for the {what}"
                ))
            })
        };
        let from_env = c.base_url_env.as_deref().and_then(env);
        let base_url = match (&c.base_url, from_env, c.service) {
            (Some(url), _, _) => url.clone(),
            (None, Some(url), _) => url,
            (None, None, Service::Uplynk) => crate::uplynk::DEFAULT_BASE_URL.to_string(),
            (None, None, _) => {
                return Err(Error::Config(format!(
                    "connection `{name}` has no base URL"
                )));
            }
        };
        let insecure = c.insecure_env.as_deref().and_then(env).as_deref() == Some("1");
        let ca_file = c.ca_file_env.as_deref().and_then(env);
        let builder = Client::builder().base_url(base_url);
        let builder = match retry {
            Some(policy) => builder.retry_policy(policy.clone()),
            None => builder,
        };
        let builder = match self.budget(name) {
            Some(budget) => builder.request_budget(budget),
            None => builder,
        };
        // Without a TLS feature there is no certificate to accept or refuse: `insecure` changes nothing,
        // and a CA file cannot be used.
        #[cfg(any(feature = "rustls", feature = "native-tls"))]
        let builder = match ca_file {
            Some(path) => builder.trust_pem_file(path),
            None => builder,
        }
        .danger_accept_invalid_certs(insecure);
        #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
        if ca_file.is_some() {
            return Err(Error::Config(format!(
                "connection `{name}` names a CA file, but this build has no TLS feature"
            )));
        }
        #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
        let _ = insecure;
        match c.service {
            Service::Uplynk => builder
                .auth(crate::uplynk::UplynkAuth::new(
                    var(&c.user_id_env, "user ID")?,
                    var(&c.api_key_env, "API key")?,
                ))
                .build(),
            Service::Entuity => builder
                .auth(crate::auth::BasicAuth::new(
                    var(&c.username_env, "username")?,
                    var(&c.password_env, "password")?,
                ))
                .build(),
            Service::Danube if c.api_key_env.is_some() => builder
                .auth(crate::danube::DanubeApiKey::new(var(
                    &c.api_key_env,
                    "API key",
                )?)?)
                .build(),
            Service::Danube => builder
                .auth(crate::danube::DanubeLogin::new(
                    var(&c.username_env, "username")?,
                    var(&c.password_env, "password")?,
                ))
                .build(),
            Service::TrafficOps => {
                let version = match &c.api_version {
                    Some(v) => crate::traffic_ops::ApiVersion::parse(v)?,
                    None => crate::traffic_ops::ApiVersion::default(),
                };
                builder
                    .auth(crate::traffic_ops::TrafficOpsSession::password(
                        var(&c.username_env, "username")?,
                        var(&c.password_env, "password")?,
                    ))
                    .traffic_ops_api_version(version)
                    .build()
            }
        }
    }

    /// One shared listing per Danube Cloud connection with two groups or more in this file: their plans
    /// read every group in one request ([`DanubeGroupListing`]).
    pub(crate) fn danube_listings(
        &self,
        clients: &BTreeMap<String, Client>,
        groups: &[DesiredGroup],
    ) -> BTreeMap<String, Arc<DanubeGroupListing>> {
        self.connections
            .iter()
            .filter(|(name, c)| {
                c.service == Service::Danube
                    && groups
                        .iter()
                        .filter(|g| g.connection() == name.as_str())
                        .count()
                        >= 2
            })
            .filter_map(|(name, _)| {
                let client = clients.get(name)?.clone();
                Some((name.clone(), Arc::new(DanubeGroupListing::new(client))))
            })
            .collect()
    }

    /// The groups as reconcilable entries, each with the client of its connection from `clients`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming what is wrong in the file (and, for JSON mistakes and duplicate keys, the line); [`Error::Config`](crate::Error::Config) for a connection whose variables are missing or whose client cannot be built.
    ///
    /// `logins` maps a connection to the identity it logs in as ([`login_identity`](Self::login_identity)),
    /// which its groups never lose unless [`Guards::allow_self_removal`](crate::membership::Guards).
    pub fn entries(
        &self,
        clients: &BTreeMap<String, Client>,
        logins: &BTreeMap<String, String>,
    ) -> Result<Vec<Box<dyn Reconcile>>> {
        let listings = self.danube_listings(clients, &self.groups);
        self.groups
            .iter()
            .map(|g| {
                let client = super::export::client_of(clients, g.connection())?.clone();
                let members = self.expanded(g)?;
                let policy = self.policy(g, logins.get(g.connection()).cloned())?;
                let names = || members.iter().map(UserRef::to_string);
                let key = g.key();
                let entry: Box<dyn Reconcile> = match g {
                    DesiredGroup::Uplynk {
                        failover_group_id, ..
                    } => Box::new(
                        Desired::new(UplynkAllowedOwners::new(client, failover_group_id), names())
                            .with_key(key)
                            .with_policy(policy),
                    ),
                    DesiredGroup::Entuity {
                        config_set_id,
                        user_group,
                        ..
                    } => Box::new(
                        Desired::new(
                            EntuityConfigSet::new(client, config_set_id).user_group(user_group),
                            names(),
                        )
                        .with_key(key)
                        .with_policy(policy),
                    ),
                    DesiredGroup::Danube { group, .. } => Box::new(
                        Desired::new(
                            listed(DanubeGroupUsers::new(client, group), &listings, g),
                            names(),
                        )
                        .with_key(key)
                        .with_policy(policy),
                    ),
                    DesiredGroup::TrafficOps { federation_id, .. } => Box::new(
                        Desired::new(
                            TrafficOpsFederationUsers::new(client, *federation_id),
                            members.clone(),
                        )
                        .with_key(key)
                        .with_policy(policy),
                    ),
                };
                Ok(entry)
            })
            .collect()
    }
}

/// A Danube Cloud group planned from its connection's listing, when the connection has one.
pub(crate) fn listed(
    users: DanubeGroupUsers,
    listings: &BTreeMap<String, Arc<DanubeGroupListing>>,
    group: &DesiredGroup,
) -> DanubeGroupUsers {
    match listings.get(group.connection()) {
        Some(listing) => users.with_listing(listing.clone()),
        None => users,
    }
}

/// Reads one file in the format its extension names (`.json`, `.toml`; anything else is read as JSON, and a
/// YAML file is refused in words).
fn read_source(path: &Path) -> std::result::Result<Source, Vec<Problem>> {
    let name = path.display().to_string();
    let one = |message: String| {
        vec![Problem {
            place: None,
            pointer: String::new(),
            message,
        }]
    };
    if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    ) {
        return Err(one(format!(
            "{name}: YAML is not read; write the desired-state file as JSON (or TOML)"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| one(format!("cannot read {name}: {e}")))?;
    let format = FileFormat::of_path(path).unwrap_or(FileFormat::Json);
    Source::parse(&text, format, Some(&name)).map_err(|p| with_hint(p, &text, format))
}

/// A JSON syntax error on text that looks like TOML or YAML says so.
fn with_hint(mut problems: Vec<Problem>, text: &str, format: FileFormat) -> Vec<Problem> {
    if format != FileFormat::Json {
        return problems;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let looks = match first {
        Some(l) if l.starts_with('[') && l.ends_with(']') && !l.contains('"') => Some("TOML"),
        Some(l) if l.contains(" = ") => Some("TOML"),
        Some(l) if l == "---" || (l.contains(": ") && !l.starts_with('{')) => Some("YAML"),
        _ => None,
    };
    if let (Some(kind), Some(p)) = (looks, problems.first_mut()) {
        p.message += &match kind {
            "TOML" => {
                " (this looks like TOML: name the file `*.toml`; it is read as JSON otherwise)"
                    .to_string()
            }
            _ => " (this looks like YAML, which is not read: write it as JSON or TOML)".to_string(),
        };
    }
    problems
}

/// Checks a read source and names its text.
fn finish(source: Source) -> std::result::Result<DesiredState, Vec<Problem>> {
    let mut state = super::check::check(&source, OffsetDateTime::now_utc())?;
    state.source_sha256 = Some(match source.texts.as_slice() {
        [one] => super::saved::sha256_hex(one),
        many => {
            super::saved::sha256_hex(&many.iter().map(|t| format!("{t}\0")).collect::<String>())
        }
    });
    Ok(state)
}

/// Every problem, as one error.
fn problems_error(problems: Vec<Problem>) -> Error {
    let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
    let what = match list.len() {
        1 => "desired-state file".to_string(),
        n => format!("desired-state file ({n} problems)"),
    };
    Error::invalid_input(what, list.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const SAMPLE: &str = include_str!("../../examples/memberships.json");

    #[test]
    fn the_shipped_sample_parses() {
        let state = DesiredState::from_json(SAMPLE).unwrap();
        assert_eq!(state.groups.len(), 4);
        assert_eq!(
            state
                .groups
                .iter()
                .map(|g| g.service())
                .collect::<BTreeSet<_>>()
                .len(),
            4
        );
    }

    #[test]
    fn secrets_and_mistakes_are_refused() {
        let with_secret = r#"{"connections": {"c": {"service": "entuity", "base_url": "https://h", "password": "hunter2"}}, "groups": []}"#;
        let err = DesiredState::from_json(with_secret).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown key `password`; did you mean `password_env`?"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"));
        let wrong_service = r#"{"connections": {"c": {"service": "danube", "base_url": "https://h"}}, "groups": [{"service": "traffic_ops", "connection": "c", "federation_id": 1, "members": [2]}]}"#;
        assert!(DesiredState::from_json(wrong_service).is_err());
        let twice = r#"{"connections": {"c": {"service": "danube", "base_url": "https://h"}}, "groups": [{"service": "danube", "connection": "c", "group": "g", "members": ["a", "a"]}]}"#;
        assert!(DesiredState::from_json(twice).is_err());
        let missing = r#"{"connections": {}, "groups": [{"service": "danube", "connection": "nope", "group": "g", "members": []}]}"#;
        assert!(DesiredState::from_json(missing).is_err());
        let same_name = "{\"connections\": {\n  \"c\": {\"service\": \"danube\", \"base_url\": \"https://a\"},\n  \"c\": {\"service\": \"danube\", \"base_url\": \"https://b\"}},\n \"groups\": []}";
        let err = DesiredState::from_json(same_name).unwrap_err().to_string();
        assert!(
            err.contains("line 3, column 3: /connections/c: key `c` is written twice in one object (first at line 2, column 3)"),
            "{err}"
        );
        let inner = r#"{"connections": {"c": {"service": "danube", "base_url": "https://a"}}, "groups": [{"service": "danube", "connection": "c", "group": "g", "group": "h", "members": ["a"]}]}"#;
        let err = DesiredState::from_json(inner).unwrap_err().to_string();
        assert!(err.contains("key `group` is written twice"), "{err}");
    }

    #[test]
    fn danube_connections_have_the_documented_budget_unless_told_otherwise() {
        let file = r#"{"connections": {
            "cloud": {"service": "danube", "base_url": "https://d"},
            "slow": {"service": "danube", "base_url": "https://d", "requests_per_minute": 10},
            "free": {"service": "danube", "base_url": "https://d", "requests_per_minute": 0},
            "netmon": {"service": "entuity", "base_url": "https://e"}
        }, "groups": []}"#;
        let state = DesiredState::from_json(file).unwrap();
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(
            state.budget("cloud"),
            Some(crate::retry::RequestBudget::DANUBE_CLOUD)
        );
        assert_eq!(
            state.budget("slow"),
            Some(crate::retry::RequestBudget::new(10, minute))
        );
        assert_eq!(state.budget("free"), None);
        assert_eq!(state.budget("netmon"), None);
    }

    #[test]
    fn clients_come_from_the_named_variables() {
        let state = DesiredState::from_json(SAMPLE).unwrap();
        let none = |_: &str| None;
        let name = state.connections.keys().next().unwrap().clone();
        assert!(!state.missing_variables(&name, &none).is_empty());
        assert!(matches!(state.client(&name, &none), Err(Error::Config(_))));
        let all = |v: &str| {
            Some(if v.contains("URL") {
                "https://example.test".to_string()
            } else {
                "x".to_string()
            })
        };
        for name in state.connections.keys() {
            assert!(state.client(name, &all).is_ok(), "{name}");
        }
    }
}
