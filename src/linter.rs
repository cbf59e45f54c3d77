//! The per-file pipeline: read → decode → parse → classify → build the template model →
//! run the enabled rules → sorted diagnostics. Files are independent, so [`lint_files`]
//! runs them in parallel and keeps the input order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonc_parser::ast::Value as Ast;
use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostic::RuleLevel;
use crate::diagnostic::{Diagnostic, Level, Suppressed, SuppressionKind};
use crate::parse::parse;
use crate::rules::{self, LintContext, Rule, RuleOptions};
use crate::source::{SourceFile, Span};
use crate::template::{classify, DocumentKind, Template};

/// What the linter runs and how.
pub struct LintOptions {
    /// The enabled rules.
    pub rules: Vec<&'static dyn Rule>,
    pub rule_options: RuleOptions,
    /// Parameters files given on the command line, by template path.
    pub parameters: HashMap<PathBuf, PathBuf>,
    /// Use `X.parameters.json` next to `X.json` when no file is given.
    pub sibling_parameters: bool,
    /// The files walks listed ([`crate::discover::Discovered::walked`]): whether a
    /// walked template's parameters file exists is looked up here, not on disk.
    pub walked: crate::discover::PathSet,
    /// Every file of the run, as spelled, with its position in the run: a linked
    /// template is followed only when it is one of them. Empty: every link is followed.
    pub run_files: RunFiles,
    /// The run is for `trustlint inventory`: the estate facts keep every target (also
    /// those no call can name) and the line of every call and target (the worksheet
    /// shows them, not only the lines of findings).
    pub for_inventory: bool,
    /// The config file's level overrides and suppressions.
    pub config: Config,
    /// [`LintOptions::namespaces`], listed once per run (the rules are not changed
    /// once linting starts).
    namespaces: std::sync::OnceLock<Vec<&'static str>>,
}

impl LintOptions {
    /// Every rule, no parameters files but the conventional siblings.
    pub fn new(rules: Vec<&'static dyn Rule>, rule_options: RuleOptions) -> LintOptions {
        LintOptions {
            rules,
            rule_options,
            parameters: HashMap::new(),
            sibling_parameters: true,
            walked: crate::discover::PathSet::default(),
            run_files: Default::default(),
            for_inventory: false,
            config: Config::empty(),
            namespaces: std::sync::OnceLock::new(),
        }
    }
}

impl LintOptions {
    /// The provider namespaces the enabled rules are about, each once.
    fn namespaces(&self) -> &[&'static str] {
        self.namespaces.get_or_init(|| {
            let estate = self
                .rules
                .iter()
                .any(|r| rules::ESTATE_RULES.contains(&r.meta().id));
            let more = if estate {
                rules::ESTATE_NAMESPACES
            } else {
                &[]
            };
            crate::rules::namespaces_of(&self.rules, more)
        })
    }

    /// Is `path` a file of the run (every path is, when the run's files are not known)?
    fn in_run(&self, path: &Path) -> bool {
        self.run_files.is_empty() || self.run_files.contains_key(path.as_os_str())
    }

    fn enabled(&self, id: &str) -> bool {
        self.rules.iter().any(|r| r.meta().id == id)
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// A deployment template, linted.
    Template,
    /// A parameters file: used to evaluate its template, never reported on itself.
    Parameters,
    /// Parsed or failed to parse, and reported with `JSON001`.
    Invalid,
    /// Not an ARM file (other JSON, or not JSON and no ARM marker text): skipped silently.
    NotArm,
    /// Not usable and not meant to be an ARM file (not text, or nested too deeply, and
    /// no ARM marker): skipped with a note on stderr saying why.
    Skipped(String),
    /// Could not be read at all: an error on stderr and exit code 2.
    Unreadable(String),
}

/// The result of linting one file.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub outcome: FileOutcome,
    pub bytes: u64,
    /// The decoded source, kept when there are diagnostics to render.
    pub source: Option<Arc<SourceFile>>,
    pub diagnostics: Vec<Diagnostic>,
    /// The parameters file the template was evaluated with.
    pub parameters_file: Option<PathBuf>,
    /// A parameters file given with `--parameters` that could not be used.
    pub parameters_error: Option<String>,
    /// What the file contributes to the estate (see [`crate::estate`]); dropped once
    /// the estate is connected.
    pub facts: Option<Box<crate::estate::FileFacts>>,
    /// The template files beside it that its deployments link, with what they pass.
    pub links: Vec<Arc<crate::template::linked::TemplateLink>>,
    /// The files its deployments may link, as written (see
    /// [`crate::template::linked::candidates`]).
    pub link_candidates: Vec<PathBuf>,
    /// Rules could report on it, whatever values it is deployed with: it declares a
    /// resource an enabled rule is about, or mentions a suppression.
    pub concerned: bool,
    /// The types of each `resources` array written as an array, as written, in order,
    /// by the array's JSON pointer (`/resources`, and the inline templates of nested
    /// deployments: for mapping a compiled Bicep template's findings to its source).
    pub resource_types: Vec<(String, Vec<String>)>,
    /// Findings that belong to another file: a local Bicep module file this `.bicep`
    /// deploys (see [`crate::bicep_input::place_module_findings`]).
    pub moved: Vec<(Arc<SourceFile>, Diagnostic)>,
    /// A `.bicep` linted through the `X.json` beside it (see [`lint_single`]).
    pub used_compiled_sibling: bool,
}

impl FileReport {
    pub fn new(path: &Path, outcome: FileOutcome, bytes: u64) -> FileReport {
        FileReport {
            path: path.to_path_buf(),
            outcome,
            bytes,
            source: None,
            diagnostics: Vec::new(),
            parameters_file: None,
            parameters_error: None,
            facts: None,
            links: Vec::new(),
            link_candidates: Vec::new(),
            concerned: false,
            resource_types: Vec::new(),
            moved: Vec::new(),
            used_compiled_sibling: false,
        }
    }
}

/// Nested deployments are followed this deep for [`FileReport::resource_types`].
const MAX_TYPES_DEPTH: usize = 64;

/// Records the types of the `resources` array at `pointer` in `template` (when it is
/// an array) and, through every deployment's inline template, of the arrays below.
fn compiled_resource_types(
    template: &jsonc_parser::ast::Object<'_>,
    pointer: &str,
    depth: usize,
    out: &mut Vec<(String, Vec<String>)>,
) {
    if depth > MAX_TYPES_DEPTH {
        return;
    }
    let type_of = |e: &Ast<'_>| match e {
        Ast::Object(o) => match o.get("type").map(|t| &t.value) {
            Some(Ast::StringLit(t)) => t.value.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let entries: Vec<(String, &Ast<'_>)> = match template.get("resources").map(|p| &p.value) {
        Some(Ast::Array(resources)) => {
            out.push((
                pointer.to_owned(),
                resources.elements.iter().map(type_of).collect(),
            ));
            let keys = resources.elements.iter().enumerate();
            keys.map(|(i, e)| (i.to_string(), e)).collect()
        }
        Some(Ast::Object(resources)) => resources
            .properties
            .iter()
            .map(|p| {
                (
                    crate::template::escape_pointer(p.name.as_str()).into_owned(),
                    &p.value,
                )
            })
            .collect(),
        _ => return,
    };
    for (key, resource) in entries {
        let Ast::Object(resource) = resource else {
            continue;
        };
        let inner = resource
            .get("properties")
            .and_then(|p| p.value.as_object())
            .and_then(|p| p.get("template"))
            .and_then(|t| t.value.as_object());
        if let Some(inner) = inner {
            let below = format!("{pointer}/{key}/properties/template/resources");
            compiled_resource_types(inner, &below, depth + 1, out);
        }
    }
}

/// Lints every file in parallel; the result is in the order of `paths`. The files of a
/// Data Factory git-mode folder are linted together, as one factory (see
/// [`crate::adf_git`]).
pub fn lint_files(paths: &[PathBuf], options: &LintOptions) -> Vec<FileReport> {
    let computed;
    let by_path = match options.run_files.len() == paths.len() {
        true => &options.run_files,
        false => {
            computed = run_files(paths);
            &computed
        }
    };
    // Local Bicep modules of the run are linted through the files that deploy them.
    let modules = crate::bicep_input::modules_of_run(paths, by_path);
    let mut singles: Vec<usize> = Vec::with_capacity(paths.len());
    let mut roots: Vec<(PathBuf, Vec<usize>)> = Vec::new();
    for unit in units_of(paths) {
        match unit {
            Unit::File(i) => singles.push(i),
            Unit::GitRoot(root, members) => roots.push((root, members)),
        }
    }
    // An indexed parallel map over the files, which rayon splits evenly (an unindexed
    // one, through `flat_map`, left workers spinning); the few git-mode roots after it.
    let linted: Vec<FileReport> = singles
        .par_iter()
        .map(|&i| match modules.parents.contains_key(&i) {
            true => crate::bicep_input::module_placeholder(&paths[i]),
            false => lint_single(
                &paths[i],
                by_path,
                &modules,
                options,
                modules.silent.contains(&i),
            ),
        })
        .collect();
    let mut slots: Vec<Option<FileReport>> = (0..paths.len()).map(|_| None).collect();
    for (i, report) in singles.into_iter().zip(linted) {
        slots[i] = Some(report);
    }
    let from_roots: Vec<Vec<(usize, FileReport)>> = roots
        .par_iter()
        .map(|(root, members)| {
            let named: Vec<PathBuf> = members.iter().map(|&i| paths[i].clone()).collect();
            let linted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::adf_git::lint_root(root, &named, options)
            }))
            .unwrap_or_else(|_| named.iter().map(|p| lint_path(p, options)).collect());
            members.iter().copied().zip(linted).collect()
        })
        .collect();
    for (i, report) in from_roots.into_iter().flatten() {
        slots[i] = Some(report);
    }
    let mut reports: Vec<FileReport> = slots
        .into_iter()
        .zip(paths)
        .map(|(report, path)| report.unwrap_or_else(|| lint_path(path, options)))
        .collect();
    lint_compiled_left_unused(paths, &mut reports, by_path, &modules, options);
    relint_linked(paths, &mut reports, by_path, options);
    crate::bicep_input::place_module_findings(paths, &mut reports, &modules, by_path, options);
    reports
}

/// The links of a template (linted already) with the values each deployment passes:
/// the template evaluated again as the first pass did (with its parameters file), read
/// only for its links.
fn links_with_values(
    path: &Path,
    options: &LintOptions,
) -> Vec<Arc<crate::template::linked::TemplateLink>> {
    let run = std::panic::AssertUnwindSafe(|| {
        parse_as_arm(Arc::new(SourceFile::read(path)?), |source, parsed| {
            let root = parsed.ok()??;
            let Ast::Object(obj) = &root else {
                return None;
            };
            let given = parameters_for(path, options, true)
                .ok()
                .flatten()
                .map(|(_, values)| values)
                .unwrap_or_default();
            // Only modules that deploy other templates are walked: their links are read.
            let template = Template::build_for(obj, &source.text, given, &|ns| {
                ns.eq_ignore_ascii_case(DEPLOYMENTS_NAMESPACE)
            });
            let in_run = |p: &Path| options.in_run(p);
            let links = crate::template::linked::links_of(&template, path, source, &in_run);
            Some(links.into_iter().map(Arc::new).collect())
        })
    });
    std::panic::catch_unwind(run)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The namespace of `Microsoft.Resources/deployments`.
const DEPLOYMENTS_NAMESPACE: &str = "Microsoft.Resources";

/// [`crate::rules::walks_namespace`], and modules that deploy other templates.
fn walks_namespace_or_deployments(namespace: &str) -> bool {
    crate::rules::walks_namespace(namespace)
        || namespace.eq_ignore_ascii_case(DEPLOYMENTS_NAMESPACE)
}

/// How many deployments of one linked file are evaluated (in path and declaration
/// order).
const MAX_DEPLOYMENTS_FOLLOWED: usize = 16;

/// Linked templates deploy chains at most this deep (ARM allows 800 deployments per
/// chain; real estates nest a few).
const MAX_LINK_DEPTH: usize = 8;

/// Lints again, through their parents, the files of the run that other files link:
/// each with the values each parent passes, never alone with its own defaults. Then
/// the files those link, and so on, a level at a time (parallel within a level).
fn relint_linked(
    paths: &[PathBuf],
    reports: &mut [FileReport],
    by_path: &RunFiles,
    options: &LintOptions,
) {
    if reports.iter().all(|r| r.link_candidates.is_empty()) {
        return;
    }
    let wanted = |child: usize, reports: &[FileReport]| {
        reports[child].concerned || !reports[child].link_candidates.is_empty()
    };
    // The first pass read only where links may go: evaluate the parents of files that
    // need what they pass.
    let parents: Vec<usize> = (0..reports.len())
        .filter(|&parent| {
            reports[parent].link_candidates.iter().any(|path| {
                by_path
                    .get(path.as_os_str())
                    .is_some_and(|&child| child != parent && wanted(child, reports))
            })
        })
        .collect();
    let valued: Vec<(usize, Vec<Arc<crate::template::linked::TemplateLink>>)> = parents
        .par_iter()
        .map(|&parent| (parent, links_with_values(&paths[parent], options)))
        .collect();
    for (parent, links) in valued {
        reports[parent].links = links;
    }
    // The files linted (again) in the last level: their links are followed next.
    let mut changed: std::collections::HashSet<usize> = (0..reports.len()).collect();
    for _ in 0..MAX_LINK_DEPTH {
        // Every parent's values for each child (also parents linted in earlier levels),
        // for the children of a file that changed.
        let mut through: HashMap<usize, Vec<Arc<Passed>>> = HashMap::new();
        let mut due: std::collections::HashSet<usize> = std::collections::HashSet::new();
        for (parent, report) in reports.iter().enumerate() {
            for link in &report.links {
                let Some(&child) = by_path.get(link.path.as_os_str()) else {
                    continue; // not in the run: outside the estate
                };
                // A file no rule is about gets nothing from its parents' values, unless
                // it passes them on.
                if child == parent || !wanted(child, reports) {
                    continue;
                }
                if changed.contains(&parent) {
                    due.insert(child);
                }
                through.entry(child).or_default().push(Arc::new(Passed {
                    parent: paths[parent].clone(),
                    link: link.clone(),
                }));
            }
        }
        through.retain(|child, _| due.contains(child));
        // A file deployed many times is evaluated for the first few deployments only:
        // each evaluation costs as much as the file, and a template can hold thousands
        // of deployments of one file.
        for passed in through.values_mut() {
            passed.truncate(MAX_DEPLOYMENTS_FOLLOWED);
        }
        if through.is_empty() {
            return;
        }
        let mut children: Vec<(usize, Vec<Arc<Passed>>)> = through.into_iter().collect();
        children.sort_by_key(|(child, _)| *child);
        let relinted: Vec<(usize, FileReport)> = children
            .par_iter()
            .map(|(child, passed)| {
                let path = &paths[*child];
                let report = match crate::source::read_bounded(path) {
                    Ok(bytes) => lint_guarded(path, bytes, options, Some(passed)),
                    Err(e) => FileReport::new(path, FileOutcome::Unreadable(e.to_string()), 0),
                };
                (*child, report)
            })
            .collect();
        changed = relinted.iter().map(|(child, _)| *child).collect();
        for (child, mut report) in relinted {
            // A parameters file given for it is not what its parents deploy it with, but
            // one that cannot be used is still an error.
            if report.parameters_error.is_none() {
                report.parameters_error = reports[child].parameters_error.take();
            }
            reports[child] = report;
        }
    }
}

/// Lints one file of the run: a `.bicep` source through its compiled template; the
/// template compiled from a `.bicep` of the run is reported there, not on its own.
/// A `.json` whose `.bicep` linted in this run reads it (as its compiled template) is
/// left to that `.bicep` here: see [`lint_compiled_left_unused`].
fn lint_single(
    path: &Path,
    run: &RunFiles,
    bicep: &crate::bicep_input::BicepRun,
    options: &LintOptions,
    silent: bool,
) -> FileReport {
    if crate::bicep::is_bicep(path) {
        let walked = options.walked.contains(path.as_os_str());
        return crate::bicep_input::lint(path, options, !walked, silent);
    }
    match bicep_source_in_run(path, run) {
        // Its `.bicep` is linted: it reads this file whole.
        Some(source) if !bicep.parents.contains_key(&source) => {
            FileReport::new(path, FileOutcome::NotArm, 0)
        }
        // A module file's compiled template: its parents compiled it inline.
        Some(_) if crate::bicep::file_compiled_by_bicep(path) => {
            FileReport::new(path, FileOutcome::NotArm, 0)
        }
        _ => lint_path(path, options),
    }
}

/// The index of `X.bicep` in the run, for `X.json`.
fn bicep_source_in_run(path: &Path, run: &RunFiles) -> Option<usize> {
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return None;
    }
    run.get(path.with_extension("bicep").as_os_str()).copied()
}

/// Lints on its own each `X.json` left to an `X.bicep` that did not use it as its
/// compiled template (it was not compiled by Bicep, or the `.bicep` stopped before
/// reading it), unless Bicep compiled it.
fn lint_compiled_left_unused(
    paths: &[PathBuf],
    reports: &mut [FileReport],
    run: &RunFiles,
    bicep: &crate::bicep_input::BicepRun,
    options: &LintOptions,
) {
    let left: Vec<usize> = (0..paths.len())
        .filter(|&j| {
            bicep_source_in_run(&paths[j], run).is_some_and(|b| {
                !bicep.parents.contains_key(&b) && !reports[b].used_compiled_sibling
            })
        })
        .collect();
    let linted: Vec<(usize, FileReport)> = left
        .into_par_iter()
        .filter(|&j| !crate::bicep::file_compiled_by_bicep(&paths[j]))
        .map(|j| (j, lint_path(&paths[j], options)))
        .collect();
    for (j, report) in linted {
        reports[j] = report;
    }
}

/// What is linted as one task: a file, or the files of one git-mode root.
enum Unit {
    File(usize),
    GitRoot(PathBuf, Vec<usize>),
}

/// Groups the files of each Data Factory git-mode root; every other file is its own
/// unit. Whether a folder is a root is asked of the disk once per folder, and only for
/// files in folders named like a factory's (`linkedService`, `pipeline`, …).
fn units_of(paths: &[PathBuf]) -> Vec<Unit> {
    let mut roots: HashMap<PathBuf, bool> = HashMap::new();
    let mut is_root = |dir: &Path| {
        *roots
            .entry(dir.to_path_buf())
            .or_insert_with(|| crate::adf_git::is_root_on_disk(dir))
    };
    let mut units = Vec::with_capacity(paths.len());
    let mut by_root: HashMap<PathBuf, usize> = HashMap::new();
    for (i, path) in paths.iter().enumerate() {
        match crate::adf_git::placement(path, &mut is_root) {
            Some(placement) => match by_root.get(&placement.root) {
                Some(&unit) => {
                    if let Unit::GitRoot(_, members) = &mut units[unit] {
                        members.push(i);
                    }
                }
                None => {
                    by_root.insert(placement.root.clone(), units.len());
                    units.push(Unit::GitRoot(placement.root, vec![i]));
                }
            },
            None => units.push(Unit::File(i)),
        }
    }
    units
}

/// Reads and lints one file. Never panics: an internal error becomes an unreadable outcome.
pub fn lint_path(path: &Path, options: &LintOptions) -> FileReport {
    match crate::source::read_bounded(path) {
        Ok(bytes) => lint_owned(path, bytes, options),
        // Deleted after it was found: there is nothing left to lint.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileReport::new(
            path,
            FileOutcome::Skipped("deleted before it could be read".to_owned()),
            0,
        ),
        Err(e) => FileReport::new(path, FileOutcome::Unreadable(e.to_string()), 0),
    }
}

/// Lints a file's content. Catches panics so that one bad file never stops the others.
pub fn lint_bytes(path: &Path, bytes: &[u8], options: &LintOptions) -> FileReport {
    lint_owned(path, bytes.to_vec(), options)
}

/// Lints a file's content, taking the bytes by value (no copy of UTF-8 text).
pub fn lint_owned(path: &Path, bytes: Vec<u8>, options: &LintOptions) -> FileReport {
    lint_guarded(path, bytes, options, None)
}

/// [`lint_owned`] for a linked template, evaluated with the values each of its parents
/// in the run passes to it (`through`) rather than its own defaults.
fn lint_guarded(
    path: &Path,
    bytes: Vec<u8>,
    options: &LintOptions,
    through: Option<&[Arc<Passed>]>,
) -> FileReport {
    let size = bytes.len() as u64;
    let run = std::panic::AssertUnwindSafe(|| lint_bytes_inner(path, bytes, options, through));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        FileReport::new(
            path,
            FileOutcome::Unreadable(format!("internal error, please report it: {what}")),
            size,
        )
    })
}

fn lint_bytes_inner(
    path: &Path,
    bytes: Vec<u8>,
    options: &LintOptions,
    through: Option<&[Arc<Passed>]>,
) -> FileReport {
    let size = bytes.len() as u64;
    let source = match SourceFile::decode_owned(path.to_path_buf(), bytes) {
        Ok(s) => Arc::new(s),
        Err((e, bytes)) => return not_text(path, size, &bytes, e, options),
    };

    parse_as_arm(source, |source, parsed| {
        lint_parsed(path, size, source, parsed, options, through)
    })
}

/// Parses a file's text as ARM reads it, and hands `then` the text that was parsed with
/// the result: ARM reads a lone surrogate escape (`"\ud800"`), jsonc-parser does not,
/// so such a text is mended in place (same length, so every span holds) and parsed
/// again.
fn parse_as_arm<R>(
    source: Arc<SourceFile>,
    then: impl FnOnce(&Arc<SourceFile>, Result<Option<Ast<'_>>, crate::parse::ParseFailure>) -> R,
) -> R {
    match parse(&source.text) {
        Err(f) if f.lone_surrogate => match crate::parse::mend_lone_surrogates(&source.text) {
            Some(text) => {
                let mended = Arc::new(SourceFile::from_text(
                    source.path.clone(),
                    text,
                    source.encoding,
                ));
                then(&mended, parse(&mended.text))
            }
            None => then(&source, Err(f)),
        },
        parsed => then(&source, parsed),
    }
}

/// [`lint_bytes_inner`] once the text is parsed.
fn lint_parsed(
    path: &Path,
    size: u64,
    source: &Arc<SourceFile>,
    parsed: Result<Option<Ast<'_>>, crate::parse::ParseFailure>,
    options: &LintOptions,
    through: Option<&[Arc<Passed>]>,
) -> FileReport {
    let root = match parsed {
        Ok(Some(root)) => root,
        Ok(None) => return FileReport::new(path, FileOutcome::NotArm, size),
        Err(failure) => {
            if let Some(e) = source.nul_error() {
                return not_text(path, size, source.text.as_bytes(), e, options);
            }
            if !has_arm_marker(source.text.as_bytes()) {
                // Silently skip other JSON, but say so when it was too deep to look at.
                let outcome = if failure.too_deep {
                    FileOutcome::Skipped(format!("not linted: {}", failure.message))
                } else {
                    FileOutcome::NotArm
                };
                return FileReport::new(path, outcome, size);
            }
            let diagnostic = Diagnostic::new(
                Level::Error,
                failure.span,
                format!("this ARM file is not valid JSON: {}", failure.message),
            )
            .with_label(failure.message)
            .with_help(
                "fix the syntax; comments, trailing commas and a byte-order mark are accepted",
            );
            return invalid_file(path, size, source.clone(), diagnostic, options);
        }
    };

    // A compiled Bicep template with something to map: its `.bicep` maps it with the text.
    let mut to_map_in_bicep = false;
    let mut report = match (classify(&root), &root) {
        (DocumentKind::Template, Ast::Object(obj)) => {
            let mut r = FileReport::new(path, FileOutcome::Template, size);
            let mut found = run_document_rules(obj, options);
            // A template that declares nothing an enabled rule is about, and mentions no
            // suppression, can get no finding from the model: it is not evaluated (three
            // in four templates of a typical estate).
            let mentions_suppression = crate::suppress::mentioned(&source.text);
            let namespaces = options.namespaces();
            let concerns = |namespace: &str| crate::rules::names_namespace(namespaces, namespace);
            let survey = crate::template::survey(obj, &concerns);
            let evaluate = mentions_suppression || survey.declares;
            r.concerned = evaluate;
            // What it may link is read now; which values it passes, only for the files
            // some rule is about, once every file is linted (see `relint_linked`).
            r.link_candidates = crate::template::linked::candidates(obj, &survey.links, path);
            let links = through.is_some() && !r.link_candidates.is_empty();
            // Rules run only where they can report (a linked file's parent may deploy it
            // in a way it does not declare alone, so it is checked through its parents).
            let check = evaluate || through.is_some();
            // The values it is evaluated with: those each parent in the run passes, else
            // a parameters file's (or none).
            let given_sets: Vec<GivenParameters> = match through {
                Some(parents) => parents.iter().map(given_by_parent).collect(),
                None => match parameters_for(path, options, evaluate) {
                    Ok(Some((params_path, values))) => {
                        r.parameters_file = Some(params_path);
                        vec![values]
                    }
                    Ok(None) => vec![HashMap::new()],
                    Err(e) => {
                        r.parameters_error = Some(e);
                        vec![HashMap::new()]
                    }
                },
            };
            let suppressions = if check {
                let mut suppressions = Vec::new();
                let several = given_sets.len() > 1;
                // Modules that declare nothing a rule reads are not walked (none, when the
                // template is read only for the templates it links). Modules linking other
                // files are walked too when links are read.
                let wanted: &dyn Fn(&str) -> bool = match links {
                    true => &|ns| walks_namespace_or_deployments(ns),
                    false => &crate::rules::walks_namespace,
                };
                for (i, given) in given_sets.into_iter().enumerate() {
                    let template = Template::build_for(obj, &source.text, given, wanted);
                    found.extend(run_rules(&template, options));
                    // Each deployment of a linked file is one way it is deployed (the links
                    // of one evaluation: later ones, through other parents, find the same
                    // deployments).
                    if links && i == 0 {
                        let in_run = |p: &Path| options.in_run(p);
                        r.links.extend(
                            crate::template::linked::links_of(&template, path, source, &in_run)
                                .into_iter()
                                .map(Arc::new),
                        );
                    }
                    if i > 0 {
                        continue; // suppressions and the estate's facts: from the first
                    }
                    if mentions_suppression {
                        suppressions = crate::suppress::collect(&source.text, &root, &template);
                    }
                    let mut facts =
                        crate::rules::facts::collect(&template, &root, options.for_inventory);
                    if !facts.is_empty() {
                        facts.suppressions = suppressions.clone();
                        if options.for_inventory {
                            facts.fill_lines(source);
                        }
                        r.facts = Some(Box::new(facts));
                    }
                }
                if several {
                    // Each parent's evaluation reports at the same spans: once per span.
                    found.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                    found = merge_copy_instances(found);
                    found = most_severe_per_span(found);
                }
                suppressions
            } else {
                Vec::new()
            };
            r.diagnostics = finish(found, &suppressions, Some(&root), path, options);
            // What mapping a compiled Bicep template's findings and facts to the `.bicep`
            // needs, read while the document is parsed; only when there is something
            // to map (`metadata._generator` says it was compiled from Bicep).
            let to_map = !r.diagnostics.is_empty() || r.facts.is_some();
            if to_map && crate::bicep::compiled_by_bicep(source.text.as_bytes()) {
                compiled_resource_types(obj, "/resources", 0, &mut r.resource_types);
                to_map_in_bicep = true;
            }
            r
        }
        (DocumentKind::Parameters, _) => FileReport::new(path, FileOutcome::Parameters, size),
        _ => FileReport::new(path, FileOutcome::NotArm, size),
    };
    let needed_by_estate = report.facts.as_ref().is_some_and(|f| f.needs_source());
    if !report.diagnostics.is_empty() || needed_by_estate || to_map_in_bicep {
        report.source = Some(source.clone());
    }
    report
}

/// Forgets what the estate needed once it is connected: the facts, and the text of
/// files without findings.
pub fn drop_facts(reports: &mut [FileReport]) {
    for report in reports {
        report.facts = None;
        if report.diagnostics.is_empty() {
            report.source = None;
        }
    }
}

/// Adds findings the estate made about a file after it was linted (calls to targets in
/// other files), each with the JSON pointer of its value, through what [`finish`] does:
/// config levels, inline and config suppressions, fingerprints, output order.
pub fn add_findings(
    report: &mut FileReport,
    found: Vec<(Diagnostic, String)>,
    options: &LintOptions,
) {
    let mut added: Vec<Diagnostic> = Vec::with_capacity(found.len());
    for (mut d, pointer) in found {
        if !options.enabled(d.rule) {
            continue;
        }
        d.level = configured_level(&d, options);
        d.fingerprint = crate::fingerprint::fingerprint_at(&pointer, &d);
        d.pointer = pointer;
        added.push(d);
    }
    // One finding per rule, place and message: the instances of a copy loop, or several
    // APIs sharing one backend, make the same call.
    added.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut added = merge_copy_instances(added);
    if let Some(facts) = report.facts.as_deref() {
        let used = crate::suppress::apply_added(&mut added, &facts.suppressions);
        // A suppression that covers one of these suppresses something after all.
        report.diagnostics.retain(|d| {
            !(d.rule == rules::tool::invalid_suppression::META.id
                && used.contains(&d.span)
                && d.message.contains("suppresses nothing"))
        });
    }
    apply_config_suppressions(&mut added, &report.path, options);
    for d in &mut added {
        d.escape_controls();
    }
    report.diagnostics.extend(added);
    report
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// The files of a run by their spelling (discovery lists each file once, under one
/// spelling, and a link beside a file is spelled the same way: no file-system call).
pub type RunFiles = rustc_hash::FxHashMap<std::ffi::OsString, usize>;

/// [`RunFiles`] for the run's `paths`.
pub fn run_files(paths: &[PathBuf]) -> RunFiles {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_os_str().to_owned(), i))
        .collect()
}

/// A path resolved to compare it with others: `./a/t.json`, `a/t.json`, an absolute
/// spelling and a symlink are one file.
pub fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

/// A file that is not text (invalid UTF-8, a NUL byte, UTF-16 without a byte-order
/// mark): `JSON001` when it is meant to be an ARM file, else skipped with a note.
fn not_text(
    path: &Path,
    size: u64,
    bytes: &[u8],
    e: crate::source::DecodeError,
    options: &LintOptions,
) -> FileReport {
    if !has_arm_marker(bytes) {
        let why = format!(
            "not a text file, skipped: {} at byte {}",
            e.message, e.offset
        );
        return FileReport::new(path, FileOutcome::Skipped(why), size);
    }
    // Render against a lossy decoding: the bytes before the error are intact.
    let text = String::from_utf8_lossy(bytes).into_owned();
    let source = Arc::new(SourceFile::from_text(
        path.to_path_buf(),
        text,
        crate::source::Encoding::Utf8,
    ));
    let at = e.offset.min(source.text.len());
    let diagnostic = Diagnostic::new(
        Level::Error,
        Span::new(at, at),
        format!("file {}", e.message),
    )
    .with_label("not text")
    .with_help("save the file as UTF-8 (with or without BOM) or UTF-16 with a BOM");
    invalid_file(path, size, source, diagnostic, options)
}

/// Parameter values from a parameters file, by lowercase name.
type GivenParameters = HashMap<String, crate::template::Value>;

/// What one parent in the run passes to a template it links.
#[derive(Debug)]
pub struct Passed {
    pub parent: PathBuf,
    pub link: Arc<crate::template::linked::TemplateLink>,
}

/// The values a parent passes: its `parametersLink` file's, else its `parameters`.
fn given_by_parent(passed: &Arc<Passed>) -> GivenParameters {
    if let Some(file) = &passed.link.parameters_file {
        return crate::parameters::load(file)
            .map(|p| p.values)
            .unwrap_or_default();
    }
    passed
        .link
        .parameters
        .iter()
        .map(|(name, value)| {
            (
                name.to_ascii_lowercase(),
                crate::template::linked::thaw(value),
            )
        })
        .collect()
}

/// Keeps the most severe finding of each rule at each span (sorted input).
fn most_severe_per_span(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        match kept
            .iter_mut()
            .rev()
            .take_while(|k| k.span == d.span)
            .find(|k| k.rule == d.rule)
        {
            Some(k) if d.level > k.level => *k = d,
            Some(_) => {}
            None => kept.push(d),
        }
    }
    kept
}

/// The parameters file for a template and its values: the one given on the command
/// line (an error when unusable), else the conventional sibling (ignored when unusable:
/// it is reported when linted itself) when the template is to be `evaluated`.
fn parameters_for(
    template: &Path,
    options: &LintOptions,
    evaluated: bool,
) -> Result<Option<(PathBuf, GivenParameters)>, String> {
    let given = if options.parameters.is_empty() {
        None
    } else {
        options.parameters.get(&resolved(template))
    };
    if let Some(given) = given {
        return crate::parameters::load(given)
            .map(|p| Some((given.clone(), p.values)))
            .map_err(|e| format!("parameters file {}: {e}", crate::paths::display_path(given)));
    }
    if !options.sibling_parameters || !evaluated {
        return Ok(None);
    }
    // On a case-sensitive file system a walk lists every file beside a walked
    // template: no `stat`. Elsewhere `X.Parameters.json` is `X.parameters.json`.
    let sibling = crate::parameters::sibling_name(template).filter(|candidate| {
        if cfg!(target_os = "linux") && options.walked.contains(template.as_os_str()) {
            options.walked.contains(candidate.as_os_str())
        } else {
            candidate.is_file()
        }
    });
    Ok(sibling.and_then(|sibling| {
        crate::parameters::load(&sibling)
            .ok()
            .map(|p| (sibling, p.values))
    }))
}

/// A file reported with one `JSON001` (when enabled) and nothing else.
pub fn invalid_file(
    path: &Path,
    size: u64,
    source: Arc<SourceFile>,
    diagnostic: Diagnostic,
    options: &LintOptions,
) -> FileReport {
    let mut report = FileReport::new(path, FileOutcome::Invalid, size);
    if options.enabled(rules::tool::invalid_json::META.id) {
        let mut cx = LintContext::new(&options.rule_options);
        cx.set_rule(&rules::tool::invalid_json::META);
        cx.report_file(diagnostic);
        report.diagnostics = finish(cx.into_diagnostics(), &[], None, path, options);
        report.source = Some(source);
    }
    report
}

/// Runs the enabled rules' checks of the parsed document (before the model is built).
fn run_document_rules(
    root: &jsonc_parser::ast::Object<'_>,
    options: &LintOptions,
) -> Vec<Diagnostic> {
    let mut cx = LintContext::new(&options.rule_options);
    for rule in &options.rules {
        cx.set_rule(rule.meta());
        rule.check_document(root, &mut cx);
    }
    cx.into_diagnostics()
}

/// Runs every enabled rule over the template; returns diagnostics sorted by position
/// then rule, with duplicates (copy-loop instances at one span) removed.
pub fn run_rules(template: &Template<'_>, options: &LintOptions) -> Vec<Diagnostic> {
    let mut cx = LintContext::new(&options.rule_options);
    for rule in &options.rules {
        let meta = rule.meta();
        cx.set_rule(meta);
        rule.check_template(template, &mut cx);
        if meta.resource_types.is_empty() {
            continue;
        }
        for resource in &template.resources {
            if meta.resource_types.iter().any(|t| resource.is_type(t)) {
                rule.check_resource(resource, template, &mut cx);
            }
        }
    }
    let mut diagnostics = cx.into_diagnostics();
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    merge_copy_instances(diagnostics)
}

/// What happens to a file's findings after the rules: config levels, inline and config
/// suppressions (with SUP001 for bad inline ones), fingerprints, output order.
pub(crate) fn finish(
    mut diagnostics: Vec<Diagnostic>,
    suppressions: &[crate::suppress::Suppression],
    root: Option<&Ast<'_>>,
    path: &Path,
    options: &LintOptions,
) -> Vec<Diagnostic> {
    for d in &mut diagnostics {
        d.level = configured_level(d, options);
    }
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    apply_inline_suppressions(&mut diagnostics, suppressions, options);
    apply_config_suppressions(&mut diagnostics, path, options);
    for d in &mut diagnostics {
        (d.fingerprint, d.pointer) = crate::fingerprint::fingerprint_and_pointer(root, d);
        d.escape_controls();
    }
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics
}

/// Marks the findings (sorted) that the file's own suppressions cover, and adds a SUP001
/// finding, at its configured level, for each suppression that is wrong or suppresses
/// nothing.
pub(crate) fn apply_inline_suppressions(
    diagnostics: &mut Vec<Diagnostic>,
    suppressions: &[crate::suppress::Suppression],
    options: &LintOptions,
) {
    let problems = crate::suppress::apply(diagnostics, suppressions, |id| options.enabled(id));
    let sup001 = &rules::tool::invalid_suppression::META;
    if options.enabled(sup001.id) {
        for mut problem in problems {
            problem.rule = sup001.id;
            problem.level = configured_level(&problem, options);
            diagnostics.push(problem);
        }
    }
}

/// Marks the findings the config file's `[[suppress]]` entries cover.
pub(crate) fn apply_config_suppressions(
    diagnostics: &mut [Diagnostic],
    path: &Path,
    options: &LintOptions,
) {
    if options.config.suppress.is_empty() {
        return;
    }
    let file = options.config.relative(path);
    for d in diagnostics.iter_mut().filter(|d| d.suppressed.is_none()) {
        if let Some(s) = options.config.suppress.iter().find(|s| s.covers(&file, d)) {
            d.suppressed = Some(Suppressed {
                kind: SuppressionKind::External,
                justification: s.reason.clone(),
            });
        }
    }
}

/// The level after the config file's `[level]` table. Findings at the rule's usual level
/// take the configured level; findings below it (what the rule could not decide, the
/// control-plane carve-out) keep theirs unless the configured level is lower still.
fn configured_level(d: &Diagnostic, options: &LintOptions) -> Level {
    let Some(RuleLevel::Level(configured)) = options.config.level_of(d.rule) else {
        return d.level;
    };
    let usual = rules::find(d.rule).map_or(d.level, |r| r.level_on(options.rule_options.as_of));
    if d.level >= usual {
        configured
    } else {
        d.level.min(configured)
    }
}

/// Copy-loop instances report at the same span: keep one diagnostic per (rule, span),
/// the most severe, and name the instances in its message. Distinct findings of one
/// rule that share a span (outside copy loops) are all kept; exact repeats are not.
fn merge_copy_instances(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut merged: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    // The instance names already merged into `merged.last()`.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for d in diagnostics {
        match merged.last_mut() {
            Some(last)
                if last.rule == d.rule
                    && last.span == d.span
                    && (last.copies.is_some()
                        || d.copies.is_some()
                        || last.message == d.message) =>
            {
                let mut instances = last
                    .copies
                    .as_mut()
                    .map(|c| std::mem::take(&mut c.instances))
                    .unwrap_or_default();
                if let Some(c) = &d.copies {
                    for i in &c.instances {
                        if seen.insert(i.clone()) {
                            instances.push(i.clone());
                        }
                    }
                }
                if d.level > last.level {
                    *last = d;
                }
                if let Some(c) = last.copies.as_mut() {
                    c.instances = instances;
                }
            }
            _ => {
                seen.clear();
                seen.extend(d.copies.iter().flat_map(|c| c.instances.iter().cloned()));
                merged.push(d);
            }
        }
    }
    for d in &mut merged {
        if let Some(c) = &d.copies {
            d.message.push_str(&copy_suffix(c));
        }
    }
    merged
}

/// " (copy loop `x`: `a`, `b`, `c`, `d`, `e` and 3 more)".
fn copy_suffix(c: &crate::diagnostic::CopyInstances) -> String {
    if let Some(reason) = &c.unknown_count {
        if let Some(invalid) = reason.strip_prefix(crate::template::expr::eval::INVALID) {
            return format!(
                " (copy loop `{}`: {invalid}, so Azure rejects this deployment; instance 0 was checked)",
                c.loop_name
            );
        }
        return format!(
            " (copy loop `{}`: its count is not known — {reason}; instance 0 was checked)",
            c.loop_name
        );
    }
    let shown: Vec<String> = c
        .instances
        .iter()
        .take(5)
        .map(|i| format!("`{i}`"))
        .collect();
    let more = c.instances.len().saturating_sub(5);
    let noun = if c.instances.len() == 1 {
        "instance"
    } else {
        "instances"
    };
    if more > 0 {
        format!(
            " (copy loop `{}`, {noun} {} and {more} more)",
            c.loop_name,
            shown.join(", ")
        )
    } else {
        format!(
            " (copy loop `{}`, {noun} {})",
            c.loop_name,
            shown.join(", ")
        )
    }
}

/// Does the text mention `deploymentTemplate` or `deploymentParameters` (any case)?
/// Files without it are not meant to be ARM files and are skipped when they fail.
pub fn has_arm_marker(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 2] = [b"deploymenttemplate", b"deploymentparameters"];
    // UTF-16 text (with or without a BOM) has NULs between ASCII letters; compare on
    // the bytes that are not NUL.
    let ascii: Vec<u8> = if bytes.contains(&0) {
        bytes.iter().copied().filter(|b| *b != 0).collect()
    } else {
        Vec::new()
    };
    let haystack = if ascii.is_empty() { bytes } else { &ascii };
    haystack
        .windows(MARKERS[0].len().min(MARKERS[1].len()))
        .enumerate()
        .any(|(i, _)| {
            MARKERS.iter().any(|m| {
                haystack.len() >= i + m.len() && haystack[i..i + m.len()].eq_ignore_ascii_case(m)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_case_insensitive() {
        assert!(has_arm_marker(
            b"{ \"$schema\": \".../DeploymentTemplate.json#\""
        ));
        assert!(has_arm_marker(b"deploymentParameters"));
        assert!(!has_arm_marker(b"{ \"name\": \"package\" }"));
    }
}
