//! `/api/accounts/group/`: list, show, create, update and delete user groups. All synchronous.

use http::Method;
use serde::{Deserialize, Serialize};

use super::{Danube, GroupUsers, result};
use crate::error::{Error, Result};
use crate::request::RequestBuilder;

/// The longest group name the server routes.
const MAX_NAME: usize = 32;
/// The longest alias the server accepts.
const MAX_ALIAS: usize = 80;

/// A user group. Unknown fields are kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// The group's name (its URL segment).
    pub name: String,
    /// Its display alias.
    #[serde(default)]
    pub alias: Option<String>,
    /// Permission names (empty when the server leaves them out: nothing is ever written from this).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Member usernames, in no stable order (compare as sets). **Required**: an answer without it is a
    /// decode error, never an empty group, because a sync writes what it reads.
    pub users: Vec<String>,
    /// Whether the group is bound to a datacenter.
    #[serde(default)]
    pub dc_bound: Option<bool>,
    /// When it was created (ISO-8601, as the server sends it); see [`created_at`](Self::created_at).
    #[serde(default)]
    pub created: Option<String>,
    /// The datacenters it is attached to (extended views only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs: Option<Vec<String>>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Group {
    /// [`created`](Self::created) as a date-time, when the server sent a readable one.
    pub fn created_at(&self) -> Option<time::OffsetDateTime> {
        let text = self.created.as_deref()?;
        time::OffsetDateTime::parse(
            text,
            &time::format_description::well_known::Iso8601::DEFAULT,
        )
        .ok()
    }
}

/// A group to create (`POST /api/accounts/group/{name}/`).
///
/// `dc_bound` defaults to true on the server, and a dc-bound group needs [`dc`](Self::dc): a create without
/// either `dc` or [`dc_bound(false)`](Self::dc_bound) is refused before sending.
///
/// ```
/// use group_membership::danube::NewGroup;
/// let group = NewGroup::new("testers")
///     .alias("Testers User Group")
///     .permissions(["admin", "image_admin"])
///     .users(["admin", "tester@erigones.com"])
///     .dc("main");
/// assert_eq!(group.name(), "testers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewGroup {
    #[serde(skip)]
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc_bound: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc: Option<String>,
}

impl NewGroup {
    /// A group named `name` (`[A-Za-z0-9._-]`, at most 32 characters).
    pub fn new(name: impl Into<String>) -> Self {
        NewGroup {
            name: name.into(),
            alias: None,
            permissions: None,
            users: None,
            dc_bound: None,
            dc: None,
        }
    }
    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// A display alias (at most 80 characters, none of `<>%$&;'"`; defaults to the name).
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }
    /// Permission names (e.g. `admin`, `image_admin`).
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = Some(permissions.into_iter().map(Into::into).collect());
        self
    }
    /// Member usernames (each must exist).
    pub fn users<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.users = Some(users.into_iter().map(Into::into).collect());
        self
    }
    /// Whether the group is bound to a datacenter (server default: true; false needs SuperAdmin).
    pub fn dc_bound(mut self, bound: bool) -> Self {
        self.dc_bound = Some(bound);
        self
    }
    /// The datacenter a dc-bound group is attached to.
    pub fn dc(mut self, dc: impl Into<String>) -> Self {
        self.dc = Some(dc.into());
        self
    }

    fn validate(&self) -> Result<()> {
        validate_name(&self.name, Some(MAX_NAME))?;
        if let Some(alias) = &self.alias {
            validate_alias(alias)?;
        }
        if self.dc_bound != Some(false) && self.dc.as_deref().is_none_or(|d| d.trim().is_empty()) {
            return Err(Error::invalid_input(
                "group",
                "a dc-bound group (the default) needs a datacenter: set dc(...), or dc_bound(false)",
            ));
        }
        Ok(())
    }
}

/// A partial update (`PUT /api/accounts/group/{name}/`): only what is set is sent.
///
/// **`users` and `permissions` replace the whole list** when set: to add one member, send the current
/// members plus the new one.
///
/// ```
/// use group_membership::danube::GroupUpdate;
/// let update = GroupUpdate::new().alias("QA").users(["admin"]);
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"alias":"QA","users":["admin"]}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc_bound: Option<bool>,
}

impl GroupUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }
    /// **Replaces** the permission list.
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = Some(permissions.into_iter().map(Into::into).collect());
        self
    }
    /// **Replaces** the member list (an empty list removes every member).
    pub fn users<I, S>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.users = Some(users.into_iter().map(Into::into).collect());
        self
    }
    /// Binds the group to a datacenter or not (needs SuperAdmin).
    pub fn dc_bound(mut self, bound: bool) -> Self {
        self.dc_bound = Some(bound);
        self
    }
}

/// Checks a group name: the server routes any number of `A-Z a-z 0-9 . _ -` (so reads, updates and deletes
/// of a longer group an older server created still work), and creates at most `max_len` of them.
#[inline]
fn validate_name(name: &str, max_len: Option<usize>) -> Result<()> {
    let routable = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name != "."
        && name != "..";
    if !routable {
        return Err(Error::invalid_input(
            "group name",
            format!("{name:?}: Danube Cloud routes only names of A-Z a-z 0-9 . _ -"),
        ));
    }
    match max_len {
        Some(max) if name.len() > max => Err(Error::invalid_input(
            "group name",
            format!(
                "{name:?} has {} characters: Danube Cloud creates groups of at most {max}",
                name.len()
            ),
        )),
        _ => Ok(()),
    }
}

fn validate_alias(alias: &str) -> Result<()> {
    if alias.chars().count() > MAX_ALIAS {
        return Err(Error::invalid_input(
            "group alias",
            format!("longer than {MAX_ALIAS} characters"),
        ));
    }
    if let Some(c) = alias.chars().find(|c| "<>%$&;'\"".contains(*c)) {
        return Err(Error::invalid_input(
            "group alias",
            format!("{c:?} is not allowed"),
        ));
    }
    Ok(())
}

/// User groups: a cheap borrowed handle from [`Danube::groups`](super::Danube::groups).
#[derive(Debug, Clone)]
pub struct Groups<'c> {
    api: Danube<'c>,
}

impl<'c> Groups<'c> {
    pub(crate) fn new(api: Danube<'c>) -> Self {
        Groups { api }
    }

    /// The group list. The server sorts it by name, ascending, whatever `order_by` says (it ignores that
    /// parameter for groups), so none is sent.
    fn collection(&self) -> RequestBuilder<'c> {
        self.api.route(Method::GET, "accounts/group", &[])
    }

    #[inline]
    fn one(&self, method: Method, name: &str) -> Result<RequestBuilder<'c>> {
        validate_name(name, None)?;
        Ok(self.api.route(method, "accounts/group/{}", &[name]))
    }

    /// The users of one group: a handle with the same verbs as every service's group-scoped handle
    /// (`list`, `add`, `remove`, `replace_all`). Sends nothing until one of them is called.
    pub fn users(&self, group: impl Into<String>) -> GroupUsers<'c> {
        GroupUsers::new(self.clone(), group.into())
    }

    /// The names of all groups, by name ascending (`GET /accounts/group/`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list_names(&self) -> Result<Vec<String>> {
        result(&self.api.send(self.collection(), false).await?)
    }

    /// All groups with their details, by name ascending (`full=true`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self) -> Result<Vec<Group>> {
        result(
            &self
                .api
                .send(self.collection().query_pair("full", "true"), false)
                .await?,
        )
    }

    /// All groups with their details (`full=true`: one request), each decoded on its own, so one group the
    /// server sent without its users (or otherwise unreadable) is an [`Error::Decode`](crate::Error::Decode)
    /// for that group alone. Each entry is the group's name (when the entry has one) and the group or its
    /// error.
    ///
    /// # Errors
    /// As [`list`](Self::list), for the request and the envelope.
    pub async fn list_each(&self) -> Result<Vec<(Option<String>, Result<Group>)>> {
        self.listed_each(|group: &Group| group.name.clone()).await
    }

    /// Every group's users from one `full=true` listing, as strict as [`list_each`](Self::list_each)
    /// (an entry without its `users` list is an error for that entry) but decoding only the name and the
    /// users: planning thousands of groups does not build every group's other fields.
    pub(crate) async fn list_users_each(
        &self,
    ) -> Result<Vec<(Option<String>, Result<Vec<String>>)>> {
        /// The part of a listed group a plan reads; other fields are skipped.
        #[derive(Deserialize)]
        struct ListedUsers {
            name: String,
            users: Vec<String>,
        }
        let listed = self
            .listed_each(|listed: &ListedUsers| listed.name.clone())
            .await?;
        Ok(listed
            .into_iter()
            .map(|(name, entry)| (name, entry.map(|listed| listed.users)))
            .collect())
    }

    /// The `full=true` listing, each entry decoded on its own as a `T` named by `name_of`: kept as its text
    /// (no tree of `serde_json::Value`s for thousands of groups) and decoded straight into `T`; only an
    /// entry that is not a `T` is read again, for its name.
    async fn listed_each<T: serde::de::DeserializeOwned>(
        &self,
        name_of: fn(&T) -> String,
    ) -> Result<Vec<(Option<String>, Result<T>)>> {
        let response = self
            .api
            .send(self.collection().query_pair("full", "true"), false)
            .await?;
        let entries: Vec<Box<serde_json::value::RawValue>> = result(&response)?;
        Ok(entries
            .iter()
            .map(|entry| match serde_json::from_str::<T>(entry.get()) {
                Ok(value) => (Some(name_of(&value)), Ok(value)),
                Err(e) => (
                    entry_name(entry.get()),
                    Err(response.decode_error(e.to_string(), Some(e))),
                ),
            })
            .collect())
    }

    /// All groups with extended details, including their datacenters, by name ascending (`extended=true`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list_extended(&self) -> Result<Vec<Group>> {
        result(
            &self
                .api
                .send(self.collection().query_pair("extended", "true"), false)
                .await?,
        )
    }

    /// One group (`GET /accounts/group/{name}/`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn get(&self, name: &str) -> Result<Group> {
        let request = self.one(Method::GET, name)?;
        result(&self.api.send(request, false).await?)
    }

    /// One group with extended details (`extended=true`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn get_extended(&self, name: &str) -> Result<Group> {
        let request = self.one(Method::GET, name)?.query_pair("extended", "true");
        result(&self.api.send(request, false).await?)
    }

    /// Creates a group (`POST /accounts/group/{name}/`, SuperAdmin). An existing name is
    /// an [`Error::Api`](crate::Error::Api) of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists); refused fields are of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation). Never retried once sent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn create(&self, group: &NewGroup) -> Result<Group> {
        group.validate()?;
        let request = self.one(Method::POST, &group.name)?.json(group);
        result(&self.api.send(request, true).await?)
    }

    /// Updates a group (`PUT /accounts/group/{name}/`): only what `update` sets changes, and `users` and
    /// `permissions` replace their whole lists. An update that sets nothing is refused before sending.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update(&self, name: &str, update: &GroupUpdate) -> Result<Group> {
        if update == &GroupUpdate::default() {
            return Err(Error::invalid_input(
                "group update",
                "set at least one field",
            ));
        }
        if let Some(alias) = &update.alias {
            validate_alias(alias)?;
        }
        let request = self.one(Method::PUT, name)?.json(update);
        result(&self.api.send(request, false).await?)
    }

    /// Deletes a group (`DELETE /accounts/group/{name}/`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a name or input refused before sending; the server's refusals as [`Error::Api`](crate::Error::Api): field errors of kind [`ApiErrorKind::Validation`](crate::ApiErrorKind::Validation), a create of an existing group of kind [`ApiErrorKind::AlreadyExists`](crate::ApiErrorKind::AlreadyExists), others (404, 403, 429 after retries) of kind `Refused`; an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let request = self.one(Method::DELETE, name)?;
        let _: Option<serde_json::Value> = result(&self.api.send(request, false).await?)?;
        Ok(())
    }
}

/// The `name` of a listed entry that is not a readable group, when it has a textual one.
fn entry_name(entry: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Named {
        name: Option<String>,
    }
    serde_json::from_str::<Named>(entry).ok()?.name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_the_server_routes_them() {
        for ok in ["testers", "a.b_c-d", "X", &"a".repeat(32), &"a".repeat(80)] {
            assert!(validate_name(ok, None).is_ok(), "{ok}");
        }
        for bad in ["", "with space", "a/b", "..", "é", "a%2F"] {
            assert!(validate_name(bad, None).is_err(), "{bad}");
        }
        // Only creation is limited to 32 characters.
        assert!(validate_name(&"a".repeat(32), Some(MAX_NAME)).is_ok());
        assert!(validate_name(&"a".repeat(33), Some(MAX_NAME)).is_err());
        assert!(NewGroup::new("a".repeat(33)).dc("main").validate().is_err());
    }

    #[test]
    fn creates_need_a_dc_unless_not_dc_bound() {
        assert!(NewGroup::new("g").validate().is_err());
        assert!(NewGroup::new("g").dc("main").validate().is_ok());
        assert!(NewGroup::new("g").dc_bound(false).validate().is_ok());
        assert!(
            NewGroup::new("g")
                .dc_bound(true)
                .dc(" ")
                .validate()
                .is_err()
        );
        assert!(
            NewGroup::new("g")
                .dc("main")
                .alias("a<b")
                .validate()
                .is_err()
        );
        assert_eq!(
            serde_json::to_value(NewGroup::new("g").dc("main").users(["u"])).unwrap(),
            serde_json::json!({"dc": "main", "users": ["u"]})
        );
    }
}
