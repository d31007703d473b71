//! The users of one federation (`federations/{id}/users`).

use http::Method;

use super::{
    AssignedUsers, FederationUser, FederationUsersQuery, Reply, TrafficOps, reply, reply_or_default,
};
use crate::error::{Error, Result};

/// The users of one federation, by integer user ID, from
/// [`Federations::users`](super::Federations::users).
///
/// `add` assigns users and leaves the others (`POST` without `replace`); `remove` takes one user off
/// (`DELETE`); `replace_all` makes the list exactly the one given (`POST` with `replace: true`, which first
/// removes **every** user). To name users by username, resolve them with
/// [`TrafficOps::users`](super::TrafficOps::users) or use the [`membership`](crate::membership) functions.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// # let client = sandbox.traffic_ops_client()?;
/// use group_membership::traffic_ops::FederationUsersQuery;
///
/// let users = client.traffic_ops().federations().users(1);
/// users.add(&[3]).await?;
/// users.remove(3).await?;
/// let ids: Vec<u64> = users.list(&FederationUsersQuery::new()).await?.response.iter().map(|u| u.id).collect();
/// assert_eq!(ids, [2]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FederationUsers<'c> {
    api: TrafficOps<'c>,
    federation_id: u64,
}

impl<'c> FederationUsers<'c> {
    pub(super) fn new(api: TrafficOps<'c>, federation_id: u64) -> Self {
        FederationUsers { api, federation_id }
    }

    /// The federation these users belong to.
    pub fn federation_id(&self) -> u64 {
        self.federation_id
    }

    /// The users assigned to the federation (`GET federations/{id}/users`), filtered, ordered and paged
    /// as `query` says. A 304 (with [`FederationUsersQuery::if_modified_since`]) is a reply with
    /// `not_modified` set and no users.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise as it answered (including a 2xx carrying an error-level alert); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self, query: &FederationUsersQuery) -> Result<Reply<Vec<FederationUser>>> {
        let fed = self.federation_id.to_string();
        let mut request = self.api.route(Method::GET, "federations/{}/users", &[&fed]);
        for (k, v) in query.pairs()? {
            request = request.query_pair(k, v);
        }
        if let Some(when) = query.if_modified_since {
            let value =
                http::HeaderValue::from_str(&httpdate::fmt_http_date(when)).map_err(|_| {
                    Error::invalid_input("if_modified_since", "not representable as an HTTP date")
                })?;
            request = request.header(http::header::IF_MODIFIED_SINCE, value);
        }
        let response = self.api.send(request).await?;
        if response.status() == http::StatusCode::NOT_MODIFIED {
            return reply_or_default(response);
        }
        reply(response)
    }

    /// Assigns these users to the federation, leaving the users already there (`POST federations/{id}/users`
    /// with `{"userIds": [...]}`, no `replace`). A user already assigned makes the **whole** call fail with
    /// 400 "already exists" and nothing changes; [`membership::add`](crate::membership::add) reads first and
    /// sends only the users missing. Never retried once it may have reached the server.
    ///
    /// # Errors
    /// As [`list`](Self::list); duplicate IDs are refused before sending (the server rejects them).
    pub async fn add(&self, user_ids: &[u64]) -> Result<Reply<AssignedUsers>> {
        self.assign(user_ids, false).await
    }

    /// Makes the federation's users **exactly** `user_ids` (`POST federations/{id}/users` with
    /// `replace: true`): the server first removes every user currently assigned (including any assigned
    /// since you last read), then assigns the list, in one transaction. An empty list leaves the
    /// federation with no users. Never retried once it may have reached the server.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub async fn replace_all(&self, user_ids: &[u64]) -> Result<Reply<AssignedUsers>> {
        self.assign(user_ids, true).await
    }

    /// Takes one user off the federation (`DELETE federations/{id}/users/{userID}`). No such assignment
    /// (or federation) is a 404 "no federation users with that key found".
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub async fn remove(&self, user_id: u64) -> Result<Reply<()>> {
        let (fed, user) = (self.federation_id.to_string(), user_id.to_string());
        let request = self
            .api
            .route(Method::DELETE, "federations/{}/users/{}", &[&fed, &user]);
        reply_or_default(self.api.send(request).await?)
    }

    async fn assign(&self, user_ids: &[u64], replace: bool) -> Result<Reply<AssignedUsers>> {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = user_ids.iter().find(|id| !seen.insert(**id)) {
            return Err(Error::invalid_input(
                "user IDs",
                format!("{dup} is listed twice"),
            ));
        }
        let mut body = serde_json::json!({ "userIds": user_ids });
        if replace {
            body["replace"] = serde_json::Value::Bool(true);
        }
        let fed = self.federation_id.to_string();
        let request = self
            .api
            .route(Method::POST, "federations/{}/users", &[&fed])
            .json(&body);
        reply(self.api.send(request).await?)
    }
}
