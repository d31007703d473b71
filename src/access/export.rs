//! Export: a desired-state file describing who is in each group now, so that planning it shows no change.
//! The way a team starts managing access as code.

use std::collections::{BTreeMap, BTreeSet};

use super::file::{Connection, DesiredGroup, DesiredState, Mode};
use super::grant::MemberEntry;
use crate::client::Client;
use crate::error::{Error, Result};
use futures_util::StreamExt;

use crate::membership::{
    DanubeGroupListing, DanubeGroupUsers, EntuityConfigSet, GroupMembers, Service,
    TrafficOpsFederationUsers, TrafficOpsUser, UplynkAllowedOwners, UserRef, complete,
};

/// Which groups an export describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportScope {
    /// The groups the desired-state file lists.
    ListedGroups,
    /// Every group each connection's credentials can see: Uplynk failover groups, the user groups of every
    /// Entuity config set, Danube Cloud groups, and the federations of a Traffic Ops connection's `cdn`
    /// (only those linked to a delivery service: the server lists no others).
    Everything,
}

impl DesiredState {
    /// A desired-state file with the same connections and people whose groups hold exactly their current
    /// members: of the groups this file lists, or of every group the connections can see. Members that are
    /// a declared person's identity on that connection are written as `@name`; Traffic Ops users by
    /// username (by ID when the server gave none). Members are sorted, so two exports of the same state are
    /// the same text.
    ///
    /// `clients` holds a client per connection name (see [`client`](Self::client)). Groups are read up to
    /// 8 at a time (each connection's client keeps its own request budget), the groups of a Danube Cloud
    /// connection in one request ([`DanubeGroupListing`]). Progress: `progress` is called with each
    /// connection's name before its groups are listed, with each group's key before it is read, and once
    /// more with the key of the read that failed before the error is returned (so the last one named is
    /// the one a failure is about).
    ///
    /// # Errors
    /// The first read that fails, as that read returned it (an export missing a group would be wrong); a
    /// [`Error::Config`] when a Traffic Ops connection has no `cdn` for [`ExportScope::Everything`].
    pub async fn export(
        &self,
        clients: &BTreeMap<String, Client>,
        scope: ExportScope,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<DesiredState> {
        let groups = match scope {
            ExportScope::ListedGroups => self.groups.clone(),
            ExportScope::Everything => self.discover(clients, progress).await?,
        };
        let listings = self.danube_listings(clients, &groups);
        let reads = groups.iter().map(|group| {
            let listings = &listings;
            async move {
                progress(&group.key());
                let read = match client_of(clients, group.connection()) {
                    Ok(client) => read_members(client, group, listings).await,
                    Err(e) => Err(e),
                };
                (group, read)
            }
        });
        // A few groups at a time, results in file order; the first failure (in file order) ends the
        // export, its group named last.
        let mut reads = futures_util::stream::iter(reads).buffered(EXPORT_CONCURRENCY);
        let mut exported = Vec::with_capacity(groups.len());
        while let Some((group, read)) = reads.next().await {
            match read {
                Ok(current) => exported.push(self.with_members(group, current)),
                Err(e) => {
                    progress(&group.key());
                    return Err(e);
                }
            }
        }
        let mut state = DesiredState::new(self.connections.clone(), self.people.clone(), exported);
        state.protected = self.protected.clone();
        Ok(state)
    }

    /// Every group each connection can see, with no members yet.
    async fn discover(
        &self,
        clients: &BTreeMap<String, Client>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<DesiredGroup>> {
        let mut groups = Vec::new();
        for (name, connection) in &self.connections {
            let client = client_of(clients, name)?;
            progress(&format!("{name} (listing its groups)"));
            groups.extend(discover_connection(client, name, connection).await?);
        }
        Ok(groups)
    }

    /// `group` holding `current` (as identities), people written as `@name`.
    fn with_members(&self, group: &DesiredGroup, current: Vec<UserRef>) -> DesiredGroup {
        let connection = group.connection().to_string();
        let named: Vec<UserRef> = current
            .into_iter()
            .map(|member| match self.person_with(&connection, &member) {
                Some(person) => UserRef::Username(format!("@{person}")),
                None => member,
            })
            .collect();
        // A member the file already lists keeps its entry (and its `until`).
        let entries = named
            .into_iter()
            .map(|member| {
                group
                    .members()
                    .iter()
                    .find(|e| e.member == member)
                    .cloned()
                    .unwrap_or_else(|| MemberEntry::new(member))
            })
            .collect();
        let mut group = group.clone();
        *group.members_mut() = entries;
        group
    }

    fn person_with(&self, connection: &str, member: &UserRef) -> Option<&str> {
        self.people
            .iter()
            .find(|(_, ids)| ids.get(connection) == Some(member))
            .map(|(name, _)| name.as_str())
    }
}

pub(super) fn client_of<'a>(
    clients: &'a BTreeMap<String, Client>,
    name: &str,
) -> Result<&'a Client> {
    clients
        .get(name)
        .ok_or_else(|| Error::Config(format!("no client given for connection `{name}`")))
}

/// How many groups an export reads at a time (each connection's client still keeps its own request budget).
const EXPORT_CONCURRENCY: usize = 8;

/// The group's current members as identities, sorted (Traffic Ops users by username when known); a Danube
/// Cloud group from its connection's listing when there is one.
async fn read_members(
    client: &Client,
    group: &DesiredGroup,
    listings: &BTreeMap<String, std::sync::Arc<DanubeGroupListing>>,
) -> Result<Vec<UserRef>> {
    let client = client.clone();
    let strings = |set: BTreeSet<String>| set.into_iter().map(UserRef::Username).collect();
    Ok(match group {
        DesiredGroup::Uplynk {
            failover_group_id, ..
        } => strings(
            UplynkAllowedOwners::new(client, failover_group_id)
                .members()
                .await?,
        ),
        DesiredGroup::Entuity {
            config_set_id,
            user_group,
            ..
        } => strings(
            EntuityConfigSet::new(client, config_set_id)
                .user_group(user_group)
                .members()
                .await?,
        ),
        DesiredGroup::Danube { group: name, .. } => {
            let users = super::file::listed(DanubeGroupUsers::new(client, name), listings, group);
            strings(users.planning_members().await?)
        }
        DesiredGroup::TrafficOps { federation_id, .. } => {
            let users = TrafficOpsFederationUsers::new(client, *federation_id)
                .members()
                .await?;
            let mut refs: Vec<UserRef> = users.into_iter().map(traffic_ops_ref).collect();
            refs.sort();
            refs
        }
    })
}

fn traffic_ops_ref(user: TrafficOpsUser) -> UserRef {
    match user.username {
        Some(name) => UserRef::Username(name),
        None => UserRef::Id(user.id),
    }
}

/// The groups one connection can see, with no members yet.
async fn discover_connection(
    client: &Client,
    name: &str,
    connection: &Connection,
) -> Result<Vec<DesiredGroup>> {
    let connection_name = name.to_string();
    match connection.service {
        Service::Uplynk => {
            let listed = client.uplynk().failover_groups().list().await?;
            complete("failover groups", listed.items.len(), listed.total_items)?;
            Ok(listed
                .items
                .into_iter()
                .map(|g| DesiredGroup::Uplynk {
                    connection: connection_name.clone(),
                    failover_group_id: g.id,
                    members: vec![],
                    mode: Mode::Exact,
                    unmanaged: vec![],
                    min_members: None,
                })
                .collect())
        }
        Service::Entuity => {
            let mut groups = Vec::new();
            for set in client.entuity().config_sets().list().await? {
                let id = set.server_group_id;
                for group in client.entuity().user_groups(&id).list().await? {
                    groups.push(DesiredGroup::Entuity {
                        connection: connection_name.clone(),
                        config_set_id: id.clone(),
                        user_group: group.user_group_name,
                        members: vec![],
                        mode: Mode::Exact,
                        unmanaged: vec![],
                        min_members: None,
                    });
                }
            }
            Ok(groups)
        }
        Service::Danube => Ok(client
            .danube()
            .groups()
            .list_names()
            .await?
            .into_iter()
            .map(|group| DesiredGroup::Danube {
                connection: connection_name.clone(),
                group,
                members: vec![],
                mode: Mode::Exact,
                unmanaged: vec![],
                min_members: None,
            })
            .collect()),
        Service::TrafficOps => {
            let cdn = connection.cdn.as_deref().ok_or_else(|| {
                Error::Config(format!(
                    "connection `{name}` names no `cdn`: Traffic Ops lists federations per CDN, so an \
                     export of everything needs one"
                ))
            })?;
            let federations = client.traffic_ops().federations();
            let listed = federations.cdn_federations(cdn).await?.response;
            // 4.x answers 404 for an unknown CDN; 5.0 lists nothing: an export of a CDN that does not
            // exist is an error at every version, never an empty file.
            if listed.is_empty() && !federations.cdn_exists(cdn).await? {
                return Err(Error::Config(format!(
                    "connection `{name}` names CDN `{cdn}`, which the Traffic Ops server does not have"
                )));
            }
            // One federation may serve several delivery services: list it once.
            let ids: BTreeSet<u64> = listed.iter().map(|f| f.id).collect();
            Ok(ids
                .into_iter()
                .map(|federation_id| DesiredGroup::TrafficOps {
                    connection: connection_name.clone(),
                    federation_id,
                    members: vec![],
                    mode: Mode::Exact,
                    unmanaged: vec![],
                    min_members: None,
                })
                .collect())
        }
    }
}
