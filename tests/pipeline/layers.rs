//! The layering the README's architecture section promises, checked on the sources: every `crate::`
//! path in a module (comments and test modules aside) names a module of a lower layer, and no service
//! module names another service.

use std::collections::BTreeMap;
use std::path::Path;

/// The layers, top first; modules on one line are peers.
const LAYERS: &[&[&str]] = &[
    &["sandbox"],
    &["access"],
    &["membership"],
    &["uplynk", "entuity", "danube", "traffic_ops"],
    &["client"],
    &["request"],
    &["transport"],
    &["auth"],
    &["failure"],
    &["tls", "path", "pace", "deadline"],
    &["error"],
    &["retry", "json"],
];

/// Root re-exports, by the module they come from.
const ROOT: &[(&str, &str)] = &[
    ("Error", "error"),
    ("Result", "error"),
    ("ApiError", "error"),
    ("ApiErrorKind", "error"),
    ("FieldError", "error"),
    ("ReportError", "error"),
    ("Client", "client"),
    ("ClientBuilder", "client"),
    ("RetryPolicy", "retry"),
    ("AttemptOutcome", "retry"),
    ("RetryDecision", "retry"),
    ("RequestBuilder", "request"),
    ("RequestOptions", "request"),
    ("Response", "request"),
    ("ResponseObserver", "request"),
    ("encode_segment", "path"),
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|peers| peers.contains(&module))
}

/// What a file's code (not its comments or its test module) names as `crate::x`.
fn named_modules(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or(text);
    let mut named = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let module = ROOT
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name, |(_, m)| (*m).to_string());
            named.push(module);
        }
    }
    named
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_only_go_down_the_layers_and_never_across_services() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
        let Some(own) = layer(&module) else {
            continue; // lib.rs, bin/, properties.rs (tests): not layered
        };
        checked += 1;
        for named in named_modules(&std::fs::read_to_string(&file).unwrap()) {
            if named == module {
                continue;
            }
            match layer(&named) {
                Some(l) if l > own => {}
                _ => wrong
                    .entry(relative.display().to_string())
                    .or_default()
                    .push(named),
            }
        }
    }
    assert!(checked > 40, "the sources were found ({checked} files)");
    assert!(
        wrong.is_empty(),
        "imports up or across the layers: {wrong:#?}"
    );
}

#[test]
fn the_check_sees_an_import_that_goes_up() {
    assert_eq!(
        named_modules("use crate::membership::GroupReport;\n// crate::access in a comment\n"),
        ["membership"]
    );
    assert_eq!(named_modules("fn f() -> crate::Result<()> {}"), ["error"]);
    assert!(layer("membership") < layer("error"));
}
