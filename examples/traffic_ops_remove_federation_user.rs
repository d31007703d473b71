//! Removes one user from a federation: `DELETE /api/4.0/federations/{ID}/users/{userID}`.
//!
//! ```text
//! cargo run --example traffic_ops_remove_federation_user -- FEDERATION_ID USER_ID
//! ```
//! Real server when `TO_URL`, `TO_USER` and `TO_PASSWORD` are set (`TO_INSECURE=1`, `TO_API_VERSION`);
//! otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

const USAGE: &str = "traffic_ops_remove_federation_user FEDERATION_ID USER_ID";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [federation, user] = args.as_slice() else {
        return common::usage(USAGE, "expected FEDERATION_ID USER_ID");
    };
    let (Ok(federation), Ok(user)) = (federation.parse::<u64>(), user.parse::<u64>()) else {
        return common::usage(USAGE, "FEDERATION_ID and USER_ID are integers");
    };
    let target = match common::traffic_ops() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match target
        .client
        .traffic_ops()
        .federations()
        .users(federation)
        .remove(user)
        .await
    {
        Ok(reply) => {
            common::print_alerts(&reply.alerts);
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
