//! Mirrors the vendor's "grant_deny_authorization" sample: one
//! `PUT /api/v4/failover-groups/{id}/allowed-owners` with `owners_to_add` and `owners_to_remove`, printing the
//! HTTP status as the sample does (204 on success).
//!
//! ```text
//! cargo run --example uplynk_grant_deny_authorization [FAILOVER_GROUP_ID] [--add USER_ID]... [--remove USER_ID]...
//! ```
//! Without `--add`/`--remove` it sends the sample's lists. Real service when `UPLYNK_USER_ID` and
//! `UPLYNK_API_KEY` are set (`UPLYNK_BASE_URL` overrides the host); otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

use group_membership::uplynk::AllowedOwnersUpdate;
use http::Method;

const USAGE: &str =
    "uplynk_grant_deny_authorization [FAILOVER_GROUP_ID] [--add USER_ID]... [--remove USER_ID]...";
const SAMPLE_FAILOVER_GROUP_ID: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";
const SAMPLE_ADD: [&str; 2] = [
    "gu137664292b46a1a286cdf79b1a9bm8",
    "t341643dn409198f523flniu1234n34h",
];
const SAMPLE_REMOVE: [&str; 1] = ["de137864292b46a1a286cdd79b3a9ba6"];

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let mut group_id = None;
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--add" | "--remove" => match args.next() {
                Some(v) if !v.starts_with("--") => {
                    if arg == "--add" {
                        add.push(v)
                    } else {
                        remove.push(v)
                    }
                }
                _ => return common::usage(USAGE, &format!("{arg} needs a USER_ID")),
            },
            "-h" | "--help" => return common::usage(USAGE, "help requested"),
            flag if flag.starts_with('-') => {
                return common::usage(USAGE, &format!("unknown option `{flag}`"));
            }
            _ if group_id.is_some() => {
                return common::usage(USAGE, "only one FAILOVER_GROUP_ID may be given");
            }
            _ => group_id = Some(arg),
        }
    }
    if add.is_empty() && remove.is_empty() {
        add = SAMPLE_ADD.map(String::from).to_vec();
        remove = SAMPLE_REMOVE.map(String::from).to_vec();
    }
    let group_id = group_id.unwrap_or_else(|| SAMPLE_FAILOVER_GROUP_ID.to_string());
    let update = AllowedOwnersUpdate::new()
        .owners_to_add(add)
        .owners_to_remove(remove);

    let target = match common::uplynk() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    // The sample prints the raw status code, so this goes through the escape hatch, which signs, retries and
    // reads errors like the typed `failover_groups().allowed_owners(&group_id).change(&update)` does.
    let sent = target
        .client
        .uplynk()
        .request(
            Method::PUT,
            ["failover-groups", group_id.as_str(), "allowed-owners"],
        )
        .json(&update)
        .send()
        .await;
    match sent {
        Ok(response) => {
            say!("{}", response.status().as_u16());
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(status) = e.status() {
                say!("{}", status.as_u16());
            }
            common::fail(&e)
        }
    }
}
