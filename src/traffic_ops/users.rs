//! Traffic Ops users (`GET users`): federation membership is keyed by integer user ID, and this is where
//! a username becomes one.

use http::Method;
use serde::{Deserialize, Serialize};

use super::{Reply, TrafficOps, reply};
use crate::error::{Error, Result};

/// A Traffic Ops user as `GET users` lists it (API 4.x and 5.0: `role` is the role's name). Unknown fields
/// are kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The integer user ID that federation membership uses.
    pub id: u64,
    /// The login name.
    pub username: String,
    /// The role's name.
    #[serde(default)]
    pub role: Option<String>,
    /// The e-mail address, often null.
    #[serde(default)]
    pub email: Option<String>,
    /// The full name, often null.
    #[serde(default)]
    pub full_name: Option<String>,
    /// The tenant's name.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The tenant's ID.
    #[serde(default)]
    pub tenant_id: Option<u64>,
    /// When the user was last changed, as the server wrote it (RFC 3339 at 4.x and 5.0, trailing zeros
    /// dropped: `2026-11-30T16:26:41.42322Z`; [`Timestamp::parse`](super::Timestamp::parse) reads it).
    #[serde(default)]
    pub last_updated: Option<String>,
    /// When the user last logged in, as the server wrote it (RFC 3339), or null.
    #[serde(default)]
    pub last_authenticated: Option<String>,
    /// True for a user of Traffic Ops' own database (not LDAP).
    #[serde(default)]
    pub local_user: Option<bool>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Filters for [`Users::list`]; the server combines them with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersQuery {
    username: Option<String>,
    role: Option<String>,
    id: Option<u64>,
}

impl UsersQuery {
    /// No filter: every user the caller's tenant can see.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only the user with this exact username (`username=`).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
    /// Only users with this role name (`role=`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
    /// Only the user with this ID (`id=`).
    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }
}

/// The users endpoint: a cheap borrowed handle from [`TrafficOps::users`].
#[derive(Debug, Clone)]
pub struct Users<'c> {
    api: TrafficOps<'c>,
}

impl<'c> Users<'c> {
    pub(super) fn new(api: TrafficOps<'c>) -> Self {
        Users { api }
    }

    /// The users matching `query` (`GET users?username=&role=&id=`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty username or role filter; the server's refusal as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self, query: &UsersQuery) -> Result<Reply<Vec<User>>> {
        let mut request = self.api.route(Method::GET, "users", &[]);
        for (key, value) in [("username", &query.username), ("role", &query.role)] {
            if let Some(value) = value {
                if value.trim().is_empty() {
                    return Err(Error::invalid_input(
                        format!("users filter `{key}`"),
                        "must not be empty (it would match nobody, or be ignored)",
                    ));
                }
                request = request.query_pair(key, value.clone());
            }
        }
        if let Some(id) = query.id {
            request = request.query_pair("id", id.to_string());
        }
        reply(self.api.send(request).await?)
    }

    /// The user with exactly this username, or `None` when the server has no such user.
    ///
    /// # Errors
    /// As [`list`](Self::list); more than one user with exactly that username is
    /// [`Error::AmbiguousMember`](crate::Error::AmbiguousMember) (refusing to guess).
    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>> {
        self.find_one(UsersQuery::new().username(username), |u| {
            u.username == username
        })
        .await
    }

    /// The user with this ID, or `None` when the server has no such user.
    ///
    /// # Errors
    /// As [`find_by_username`](Self::find_by_username).
    pub async fn find_by_id(&self, id: u64) -> Result<Option<User>> {
        self.find_one(UsersQuery::new().id(id), |u| u.id == id)
            .await
    }

    async fn find_one(
        &self,
        query: UsersQuery,
        is_it: impl Fn(&User) -> bool,
    ) -> Result<Option<User>> {
        let users = self.list(&query).await?.response;
        let mut matching = users.into_iter().filter(|u| is_it(u));
        let first = matching.next();
        if matching.next().is_some() {
            return Err(Error::AmbiguousMember {
                service: "traffic_ops",
                member: describe(&query),
            });
        }
        Ok(first)
    }
}

/// How a lookup names the user, for errors: ``username `admin` `` or `user ID 7`.
fn describe(query: &UsersQuery) -> String {
    match (&query.username, query.id) {
        (Some(name), _) => format!("username `{name}`"),
        (None, Some(id)) => format!("user ID {id}"),
        (None, None) => "the lookup".to_string(),
    }
}
