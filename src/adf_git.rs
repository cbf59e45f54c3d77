//! Data Factory in git mode: a folder (the *git-mode root*) with `factory/`,
//! `linkedService/`, `pipeline/`, `integrationRuntime/`, … subfolders, one JSON object
//! per file (`name`, `properties`; no `$schema`). Studio keeps factories this way.
//!
//! The whole root is linted as one deployment: each object file becomes a
//! `Microsoft.DataFactory/factories/<kind>` resource of a template written in memory,
//! whose values are the file's own text copied byte for byte. The ADF rules and the
//! estate then read it exactly as they read a Studio export, and every span maps back
//! to the object file it was copied from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonc_parser::ast::{Object, Value as Ast};

use crate::diagnostic::{Diagnostic, Level, Related};
use crate::linter::{FileOutcome, FileReport, LintOptions};
use crate::source::{SourceFile, Span};
use crate::template::Template;

/// The folders that make a directory a git-mode root (at least one of them).
const MARKERS: &[&str] = &["factory", "linkedService", "pipeline", "integrationRuntime"];

/// Object folders and the resource type of their files.
const KINDS: &[(&str, &str)] = &[
    ("factory", "Microsoft.DataFactory/factories"),
    (
        "linkedService",
        "Microsoft.DataFactory/factories/linkedservices",
    ),
    ("pipeline", "Microsoft.DataFactory/factories/pipelines"),
    (
        "integrationRuntime",
        "Microsoft.DataFactory/factories/integrationRuntimes",
    ),
    ("dataset", "Microsoft.DataFactory/factories/datasets"),
    ("dataflow", "Microsoft.DataFactory/factories/dataflows"),
    ("trigger", "Microsoft.DataFactory/factories/triggers"),
    ("credential", "Microsoft.DataFactory/factories/credentials"),
    (
        "managedVirtualNetwork",
        "Microsoft.DataFactory/factories/managedVirtualNetworks",
    ),
];
const MANAGED_PRIVATE_ENDPOINT: &str =
    "Microsoft.DataFactory/factories/managedVirtualNetworks/managedPrivateEndpoints";

/// The properties of an object file copied into its resource: what the rules read.
const OBJECT_KEYS: &[&str] = &["properties", "location", "identity"];

/// Where an object file sits in its git-mode root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub root: PathBuf,
    /// Its resource type.
    pub kind: &'static str,
    /// For a managed private endpoint: its managed virtual network's folder name.
    pub network: Option<String>,
}

/// The git-mode root a file belongs to, by its folders: `<root>/<kind>/x.json`, or
/// `<root>/managedVirtualNetwork/<vnet>/managedPrivateEndpoint/x.json`, where `<root>`
/// holds at least one of `factory/`, `linkedService/`, `pipeline/`,
/// `integrationRuntime/`. `is_root` answers (and may cache) that last question.
pub fn placement(path: &Path, is_root: &mut dyn FnMut(&Path) -> bool) -> Option<Placement> {
    // Most files are in no such folder: tell from the bytes, before `Path` parses
    // components (this runs for every file of every run).
    // Object files are JSON (a `.bicep` beside them is a template's source).
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return None;
    }
    let bytes = path.as_os_str().as_encoded_bytes();
    let separator = |b: &u8| *b == b'/' || (cfg!(windows) && *b == b'\\');
    let mut parts = bytes.rsplit(separator).skip(1);
    let folder_name = parts.next()?;
    let object_folder = |name: &[u8]| {
        KINDS
            .iter()
            .any(|(k, _)| name.eq_ignore_ascii_case(k.as_bytes()))
            || name.eq_ignore_ascii_case(b"managedPrivateEndpoint")
    };
    if !object_folder(folder_name) {
        return None;
    }
    let folder = path.parent()?;
    let folder_name = folder.file_name()?.to_str()?;
    if folder_name.eq_ignore_ascii_case("managedPrivateEndpoint") {
        let network_folder = folder.parent()?;
        let managed = network_folder.parent()?;
        let root = here_if_empty(managed.parent()?);
        let is_managed = managed
            .file_name()?
            .to_str()?
            .eq_ignore_ascii_case("managedVirtualNetwork");
        let network = network_folder.file_name()?.to_str()?.to_owned();
        return (is_managed && is_root(root)).then(|| Placement {
            root: root.to_path_buf(),
            kind: MANAGED_PRIVATE_ENDPOINT,
            network: Some(network),
        });
    }
    let (_, kind) = KINDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(folder_name))?;
    let root = here_if_empty(folder.parent()?);
    is_root(root).then(|| Placement {
        root: root.to_path_buf(),
        kind,
        network: None,
    })
}

/// `.` for the empty path: `linkedService/x.json` (as pre-commit names files at the
/// repository root) has its root in the current directory.
fn here_if_empty(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// Does the directory hold one of the folders that make a git-mode root?
pub fn is_root_on_disk(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_dir())
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| MARKERS.iter().any(|m| m.eq_ignore_ascii_case(n)))
        })
    })
}

/// Every object file of a root, sorted, with its placement.
fn objects_of(root: &Path) -> Vec<(PathBuf, Placement)> {
    let mut found = Vec::new();
    let mut is_root = |dir: &Path| dir == root;
    let walker = walkdir::WalkDir::new(root)
        .min_depth(2)
        .max_depth(4)
        .sort_by_file_name();
    for entry in walker.into_iter().flatten() {
        let is_json = entry
            .path()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if entry.file_type().is_file() && is_json {
            if let Some(p) = placement(entry.path(), &mut is_root) {
                found.push((entry.path().to_path_buf(), p));
            }
        }
    }
    found
}

/// One object file, read and parsed.
struct ObjectFile {
    path: PathBuf,
    placement: Placement,
    source: Arc<SourceFile>,
}

/// A stretch of the in-memory template copied from an object file.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Where it starts in the in-memory template.
    at: usize,
    len: usize,
    /// The object file (index) and where the stretch starts in it.
    file: usize,
    from: usize,
}

/// Lints a git-mode root. Reports are made for the files in `named` only (a single
/// file given on the command line is linted with its whole root), in `named`'s order.
pub fn lint_root(root: &Path, named: &[PathBuf], options: &LintOptions) -> Vec<FileReport> {
    let mut objects: Vec<ObjectFile> = Vec::new();
    let mut reports: HashMap<PathBuf, FileReport> = HashMap::new();
    // The named files by their spelling without `./`, and as named (reports keep it).
    let wanted: HashMap<PathBuf, &PathBuf> = named.iter().map(|p| (clean(p), p)).collect();
    for (path, placement) in objects_of(root) {
        let named_as = wanted.get(&clean(&path)).copied();
        let report_path = named_as.cloned().unwrap_or_else(|| path.clone());
        let is_named = named_as.is_some();
        match crate::source::read_bounded(&path) {
            Ok(bytes) => {
                let size = bytes.len() as u64;
                match SourceFile::decode_owned(path.clone(), bytes) {
                    Ok(source) => {
                        let source = Arc::new(source);
                        match crate::parse::parse(&source.text) {
                            Ok(Some(Ast::Object(obj))) if is_object_file(&obj) => {
                                let mut report =
                                    FileReport::new(&report_path, FileOutcome::Template, size);
                                report.source = Some(source.clone());
                                if is_named {
                                    reports.insert(clean(&path), report);
                                }
                                objects.push(ObjectFile {
                                    path,
                                    placement,
                                    source,
                                });
                            }
                            // Not one object of a factory (a template, a config file):
                            // linted as any other file.
                            Ok(_) if is_named => {
                                let bytes = source.text.to_string().into_bytes();
                                reports.insert(
                                    clean(&path),
                                    crate::linter::lint_owned(&report_path, bytes, options),
                                );
                            }
                            Ok(_) => {}
                            Err(failure) if is_named => {
                                let diagnostic = Diagnostic::new(
                                    Level::Error,
                                    failure.span,
                                    format!(
                                        "this Data Factory file is not valid JSON: {}",
                                        failure.message
                                    ),
                                )
                                .with_label(failure.message)
                                .with_help("fix the syntax; Data Factory Studio cannot load the factory either");
                                reports.insert(
                                    clean(&path),
                                    crate::linter::invalid_file(
                                        &report_path,
                                        size,
                                        source,
                                        diagnostic,
                                        options,
                                    ),
                                );
                            }
                            Err(_) => {}
                        }
                    }
                    Err(_) if is_named => {
                        reports.insert(
                            clean(&path),
                            crate::linter::lint_owned(&report_path, Vec::new(), options),
                        );
                    }
                    Err(_) => {}
                }
            }
            Err(e) if is_named => {
                reports.insert(
                    clean(&path),
                    FileReport::new(&report_path, FileOutcome::Unreadable(e.to_string()), 0),
                );
            }
            Err(_) => {}
        }
    }
    lint_objects(&objects, &mut reports, options);
    named
        .iter()
        .map(|n| {
            reports.remove(&clean(n)).unwrap_or_else(|| {
                // Named, but not an object file the root listing found (not `.json`):
                // linted on its own.
                crate::linter::lint_path(n, options)
            })
        })
        .collect()
}

/// An object of a factory: `name` and `properties` (or a factory's `location` /
/// `identity`), and no `$schema`.
fn is_object_file(obj: &Object<'_>) -> bool {
    obj.get("$schema").is_none()
        && obj.get("name").is_some()
        && ["properties", "location", "identity"]
            .iter()
            .any(|k| obj.get(k).is_some())
}

/// Builds the in-memory template of a root's objects, lints it and hands each finding
/// (and each call the estate needs) to the object file it points into.
fn lint_objects(
    objects: &[ObjectFile],
    reports: &mut HashMap<PathBuf, FileReport>,
    options: &LintOptions,
) {
    // Each object parsed once; every one parsed when it was read.
    let asts: Vec<Ast<'_>> = objects
        .iter()
        .filter_map(|o| crate::parse::parse(&o.source.text).ok().flatten())
        .collect();
    if objects.is_empty() || asts.len() != objects.len() {
        return;
    }
    let factory = factory_name(objects, &asts);
    let (text, segments, starts) = write_template(objects, &asts, &factory);
    let Ok(Some(root)) = crate::parse::parse(&text) else {
        return; // each object parsed alone, so the template cannot fail
    };
    let Ast::Object(obj) = &root else { return };
    // Object files hold no ARM expressions: `"[dbo].[T]"` is a string.
    let template = Template::build_literal(obj, &text, &crate::rules::walks_namespace);
    let found = crate::linter::run_rules(&template, options);
    let facts = crate::rules::facts::collect(&template, &root, options.for_inventory);
    let map = SpanMap {
        segments: &segments,
        starts: &starts,
        wholes: asts.iter().map(crate::template::span_of).collect(),
    };
    let mut per_file: Vec<Vec<Diagnostic>> = vec![Vec::new(); objects.len()];
    for mut d in found {
        let (file, span) = map.locate(d.span);
        d.span = span;
        if let Some(resource) = d.resource.as_mut() {
            resource.pointer = String::new();
        }
        for related in d.related.iter_mut().filter(|r| r.file.is_none()) {
            let (related_file, span) = map.locate(related.span);
            *related = Related {
                span,
                label: std::mem::take(&mut related.label),
                file: (related_file != file).then(|| objects[related_file].source.clone()),
            };
        }
        per_file[file].push(d);
    }
    let mut per_file_facts: Vec<crate::estate::FileFacts> =
        (0..objects.len()).map(|_| Default::default()).collect();
    for mut call in facts.calls {
        let (file, span) = map.locate(call.span);
        call.span = span;
        call.holder.pointer = String::new();
        call.pointer = crate::fingerprint::json_path(&asts[file], span);
        call.local_target = None; // a factory folder deploys no targets
        per_file_facts[file].calls.push(call);
    }
    for mut link in facts.managed_links {
        let (file, span) = map.locate(link.span);
        link.span = span;
        link.holder.pointer = String::new();
        link.pointer = crate::fingerprint::json_path(&asts[file], span);
        // The runtime is its own object file: related only when it is this one.
        link.runtime_span = link
            .runtime_span
            .map(|s| map.locate(s))
            .filter(|(runtime_file, _)| *runtime_file == file)
            .map(|(_, s)| s);
        per_file_facts[file].managed_links.push(link);
    }
    // The factory's mode reaches the estate through a reported file, whichever it is
    // (pre-commit names only the changed files).
    let reported = objects
        .iter()
        .position(|o| reports.contains_key(&clean(&o.path)));
    if let Some(first) = reported {
        per_file_facts[first].factories = facts.factories;
    }
    for (i, (object, diagnostics)) in objects.iter().zip(per_file).enumerate() {
        let Some(report) = reports.get_mut(&clean(&object.path)) else {
            continue;
        };
        report.diagnostics =
            crate::linter::finish(diagnostics, &[], Some(&asts[i]), &report.path, options);
        let mut facts = std::mem::take(&mut per_file_facts[i]);
        if options.for_inventory {
            facts.fill_lines(&object.source);
        }
        if !facts.is_empty() {
            report.facts = Some(Box::new(facts));
        }
    }
}

/// The factory's name: `factory/<name>.json`'s `name`, else the root folder's name.
fn factory_name(objects: &[ObjectFile], asts: &[Ast<'_>]) -> String {
    objects
        .iter()
        .zip(asts)
        .filter(|(o, _)| o.placement.kind == KINDS[0].1)
        .find_map(|(_, ast)| own_name(ast))
        .or_else(|| {
            objects[0]
                .placement
                .root
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "factory".to_owned())
}

/// An object's `name`, when it is a string.
fn own_name(ast: &Ast<'_>) -> Option<String> {
    match ast {
        Ast::Object(o) => match &o.get("name")?.value {
            Ast::StringLit(s) => Some(s.value.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The in-memory template: each object as a resource whose properties (all but `name`
/// and `type`) are copied byte for byte. Returns the text, the copied stretches in
/// order, and where each object's resource starts.
fn write_template(
    objects: &[ObjectFile],
    asts: &[Ast<'_>],
    factory: &str,
) -> (String, Vec<Segment>, Vec<usize>) {
    let mut text = String::from(
        "{\"$schema\":\"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\"contentVersion\":\"1.0.0.0\",\"resources\":[\n",
    );
    let mut segments = Vec::new();
    let mut starts = Vec::with_capacity(objects.len());
    for (i, (object, ast)) in objects.iter().zip(asts).enumerate() {
        let Ast::Object(obj) = ast else { continue };
        let source = &object.source.text;
        let own = own_name(ast)
            .or_else(|| {
                object
                    .path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let name = match (object.placement.kind, &object.placement.network) {
            (kind, _) if kind == KINDS[0].1 => factory.to_owned(),
            (_, Some(network)) => format!("{factory}/{network}/{own}"),
            _ => format!("{factory}/{own}"),
        };
        if i > 0 {
            text.push_str(",\n");
        }
        starts.push(text.len());
        text.push_str(&format!(
            "{{\"type\":{},\"apiVersion\":\"2018-06-01\",\"name\":{}",
            serde_json::Value::from(object.placement.kind),
            serde_json::Value::from(name)
        ));
        for prop in &obj.properties {
            // What Studio writes for an object; nothing else becomes a resource keyword
            // (`condition`, `copy`, `resources` in an object file are not ARM's).
            let key = prop.name.as_str();
            if !OBJECT_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)) {
                continue;
            }
            text.push(',');
            segments.push(Segment {
                at: text.len(),
                len: prop.range.end - prop.range.start,
                file: i,
                from: prop.range.start,
            });
            text.push_str(&source[prop.range.start..prop.range.end]);
        }
        text.push('}');
    }
    text.push_str("\n]}\n");
    (text, segments, starts)
}

/// Maps spans of the in-memory template back to the object files.
struct SpanMap<'m> {
    segments: &'m [Segment],
    /// Where each object's resource starts in the in-memory template.
    starts: &'m [usize],
    /// Each object file's whole object, in its own file.
    wholes: Vec<Span>,
}

impl SpanMap<'_> {
    /// The object file a span points into, and the span there: exact inside a copied
    /// stretch, else the whole object of the file whose resource holds it (the written
    /// `name` and `type` are not copied).
    fn locate(&self, span: Span) -> (usize, Span) {
        let (start, end) = (span.start as usize, span.end as usize);
        let i = self.segments.partition_point(|s| s.at <= start);
        let before = i.checked_sub(1).map(|i| self.segments[i]);
        if let Some(s) = before.filter(|s| end <= s.at + s.len) {
            return (
                s.file,
                Span::new(start - s.at + s.from, end - s.at + s.from),
            );
        }
        // Outside the copied stretches: the object whose resource holds the span.
        let file = self
            .starts
            .partition_point(|&at| at <= start)
            .saturating_sub(1);
        (file, self.wholes[file])
    }
}

/// A path without a leading `./`, to compare spellings.
fn clean(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}
