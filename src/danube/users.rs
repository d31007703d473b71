//! `/api/accounts/user/{username}/`: a user, and the groups it belongs to.

use http::Method;
use serde::{Deserialize, Serialize};

use super::{Danube, result};
use crate::error::{Error, Result};

/// A Danube Cloud user. Unknown fields are kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The login name (its URL segment).
    pub username: String,
    /// The names of the groups the user belongs to. **Required**: an answer without it is a decode error,
    /// never "in no group".
    pub groups: Vec<String>,
    /// The e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether the account is active.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Whether the user is a SuperAdmin.
    #[serde(default)]
    pub is_super_admin: Option<bool>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Users: a cheap borrowed handle from [`Danube::users`](super::Danube::users).
#[derive(Debug, Clone)]
pub struct Users<'c> {
    api: Danube<'c>,
}

impl<'c> Users<'c> {
    pub(crate) fn new(api: Danube<'c>) -> Self {
        Users { api }
    }

    /// One user with its groups (`GET /accounts/user/{username}/`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> group_membership::Result<()> {
    /// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
    /// # let client = sandbox.danube_client()?;
    /// let admin = client.danube().users().get("admin").await?;
    /// assert!(admin.groups.contains(&"operators".to_string()));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a username the server would not route (outside `A-Z a-z 0-9 @ . + _ -`); the server's refusal as [`Error::Api`](crate::Error::Api) (404 for no such user); an answer not understood (one without `groups` included) as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn get(&self, username: &str) -> Result<User> {
        validate_username(username)?;
        let request = self.api.route(Method::GET, "accounts/user/{}", &[username]);
        result(&self.api.send(request, false).await?)
    }
}

fn validate_username(name: &str) -> Result<()> {
    let routable = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'+' | b'_' | b'-'));
    if routable {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "username",
            format!("{name:?}: Danube Cloud routes only usernames of A-Z a-z 0-9 @ . + _ -"),
        ))
    }
}
