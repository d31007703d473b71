//! `offboard @alice FILE [--write]`: take a person out of every group of the file (JSON files keep their
//! formatting), then print the plan that applying the edited file would make. Without --write the file
//! is not changed; the plan is the same.

use std::path::{Path, PathBuf};

use group_membership::access::{DesiredState, FileFormat, remove_person_from_json};

use super::access::person_name;
use crate::cli::{Cli, OffboardArgs};
use crate::render::Rendered;
use crate::session::{
    BoxError, Session, exit_on_interrupt, print, problems_message, read_state, write_whole,
};

pub async fn run(cli: &Cli, args: &OffboardArgs) -> Result<u8, BoxError> {
    let person = person_name(&args.person);
    exit_on_interrupt();
    let before = read_state(&args.file)?;
    before.person_access(person, None)?;
    let mut edits = Vec::new();
    for file in json_files(&args.file)? {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let (edited, removed) = remove_person_from_json(&text, person)?;
        if removed > 0 {
            edits.push((file, edited, removed));
        }
    }
    let removed: usize = edits.iter().map(|(_, _, n)| n).sum();
    let after = edited_state(&args.file, &edits)?;
    if after.groups.iter().any(|g| {
        g.members()
            .iter()
            .any(|e| e.member.to_string() == format!("@{person}"))
    }) {
        return Err(format!(
            "@{person} is still listed in a group of a file this command cannot edit (TOML): remove them by hand"
        )
        .into());
    }
    if args.write {
        for (file, text, _) in &edits {
            write_whole(file, text)?;
        }
    }
    eprintln!(
        "@{person}: {removed} member entr{} removed from {} file(s){}",
        if removed == 1 { "y" } else { "ies" },
        edits.len(),
        if args.write {
            ""
        } else {
            " (not written: pass --write)"
        }
    );
    let session = Session::connect(cli, after)?;
    let report = session.run(&args.run, args.run.guards())?.plan().await;
    let rendered = Rendered::new("offboard", &args.file, &report, session.is_sandbox());
    print(&rendered.render(cli.output));
    Ok(report.exit_code())
}

/// The JSON files `path` names: itself, or those of the directory.
fn json_files(path: &Path) -> Result<Vec<PathBuf>, BoxError> {
    if !path.is_dir() {
        return Ok(match FileFormat::of_path(path) {
            Some(FileFormat::Toml) => vec![],
            _ => vec![path.to_path_buf()],
        });
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && FileFormat::of_path(p) == Some(FileFormat::Json))
        .collect();
    files.sort();
    Ok(files)
}

/// The state the edited text(s) describe, checked like any file.
fn edited_state(path: &Path, edits: &[(PathBuf, String, usize)]) -> Result<DesiredState, BoxError> {
    if !path.is_dir() {
        return match edits.first() {
            Some((file, text, _)) => {
                let name = file.display().to_string();
                DesiredState::validate_text(text, FileFormat::Json, Some(&name))
                    .map_err(|p| problems_message(&p).into())
            }
            None => read_state(path),
        };
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let file = entry?.path();
        if file.is_file() && FileFormat::of_path(&file).is_some() {
            let text = match edits.iter().find(|(f, _, _)| *f == file) {
                Some((_, edited, _)) => edited.clone(),
                None => std::fs::read_to_string(&file)?,
            };
            files.push((file.display().to_string(), text));
        }
    }
    files.sort();
    DesiredState::validate_texts(&files).map_err(|p| problems_message(&p).into())
}
