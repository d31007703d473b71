//! `validate FILE`: everything that needs no service or credential, every problem with its place.
//! `schema`: the file format's JSON Schema.

use group_membership::access::{DesiredState, Problem};
use serde::Serialize;

use crate::cli::{Cli, Format, ValidateArgs};
use crate::render::json::{SCHEMA, pretty};
use crate::session::{BoxError, print, problems_message};

pub fn run(cli: &Cli, args: &ValidateArgs) -> Result<u8, BoxError> {
    let result = DesiredState::validate(&args.file);
    let problems: &[Problem] = match &result {
        Ok(_) => &[],
        Err(problems) => problems,
    };
    let code = u8::from(!problems.is_empty());
    match cli.output {
        Format::Json => {
            #[derive(Serialize)]
            struct Validated<'a> {
                schema: u32,
                command: &'static str,
                file: String,
                valid: bool,
                problems: &'a [Problem],
                exit_code: u8,
            }
            print(&pretty(&Validated {
                schema: SCHEMA,
                command: "validate",
                file: args.file.display().to_string(),
                valid: problems.is_empty(),
                problems,
                exit_code: code,
            }));
        }
        Format::Text | Format::Markdown => match &result {
            Ok(state) => print(&format!(
                "{}: valid ({} connection(s), {} person(s), {} group(s))\n",
                args.file.display(),
                state.connections.len(),
                state.people.len(),
                state.groups.len()
            )),
            Err(problems) => print(&(problems_message(problems) + "\n")),
        },
    }
    Ok(code)
}

pub fn schema() -> Result<u8, BoxError> {
    print(&pretty(&group_membership::access::json_schema()));
    Ok(0)
}
