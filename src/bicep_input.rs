//! Linting a `.bicep` source: its compiled template (the `X.json` beside it compiled by
//! Bicep, else the Bicep CLI's output) is linted, and every finding is moved to the
//! place in the `.bicep` file that decides it, with the compiled location related. See
//! docs/design/bicep.md for what is mapped and what is not yet.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bicep::{
    compiled_by_bicep, compiled_sibling, declarations, deepest_written, nested_resource,
    Declaration, Kind,
};
use crate::diagnostic::{Diagnostic, Related};
use crate::linter::{FileOutcome, FileReport, LintOptions};
use crate::source::{SourceFile, Span};

/// How long the Bicep CLI may take to compile one file.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The compiled template of a `.bicep` file, or why there is none.
enum Compiled {
    /// The JSON bytes, where they came from (for related locations), and whether
    /// they were read from that file (not compiled by the CLI).
    Json(Vec<u8>, PathBuf, bool),
    /// Neither a compiled `X.json` beside it nor a Bicep CLI on `PATH`.
    Missing,
    /// The CLI failed: what it said.
    Failed(String),
}

/// Lints a `.bicep` file. `named`: given on the command line (a missing compiled
/// template is then an error; in a walk, a note). `silent`: the run's pre-pass read it
/// and it mentions no suppression, so without findings it need not be read again.
pub fn lint(path: &Path, options: &LintOptions, named: bool, silent: bool) -> FileReport {
    // A module file named alone (pre-commit names the files that changed): it is
    // evaluated through the files that deploy it, never alone with its own defaults.
    if named {
        if let Some(parent) = parent_on_disk(path) {
            let parent = crate::paths::display_path(&parent);
            return FileReport::new(
                path,
                FileOutcome::Skipped(format!(
                    "a module deployed by `{parent}`, which is not in this run: module files are linted \
                     through the files that deploy them (run trustlint on `{parent}` too)"
                )),
                0,
            );
        }
    }
    let (json, json_path, from_sibling) = match compiled(path) {
        Compiled::Json(text, from, read) => (text, from, read),
        Compiled::Failed(why) => {
            return FileReport::new(
                path,
                FileOutcome::Unreadable(format!("the Bicep CLI could not compile it: {why}")),
                0,
            )
        }
        Compiled::Missing => {
            let why = "no compiled template: no `X.json` compiled by Bicep beside it, and no Bicep CLI on PATH \
                       (install it with `az bicep install`, or from https://github.com/Azure/bicep/releases, \
                       or commit the output of `bicep build`)";
            let outcome = match named {
                true => FileOutcome::Unreadable(why.to_owned()),
                false => FileOutcome::Skipped(why.to_owned()),
            };
            return FileReport::new(path, outcome, 0);
        }
    };
    let mut report = crate::linter::lint_owned(&json_path, json, options);
    report.used_compiled_sibling = from_sibling;
    // The estate's facts hold the compiled template's spans: mapped below with the
    // findings. Bicep writes no relative template links.
    let mut facts = report.facts.take();
    report.links.clear();
    // A compiled template that does not parse is reported where the problem is.
    if report.outcome == FileOutcome::Invalid {
        return report;
    }
    let json_source = report.source.clone();
    report.path = path.to_path_buf();
    report.source = None;
    if silent && report.diagnostics.is_empty() && facts.is_none() {
        return report;
    }
    // The source: where findings go, and its own `// trustlint-ignore` comments.
    let Some(bicep) = SourceFile::read(path).map(Arc::new) else {
        return report;
    };
    let types = std::mem::take(&mut report.resource_types);
    // Its `// trustlint-ignore` comments (every directive names `trustlint`).
    let suppressions = match crate::suppress::mentioned(&bicep.text) {
        true => crate::bicep::comment_suppressions(&bicep.text),
        false => Vec::new(),
    };
    if let Some(json_source) = &json_source {
        let map = Mapper::new(bicep.clone(), &json_source.text, types);
        let mut kept = Vec::with_capacity(report.diagnostics.len());
        // Where each finding kept here went: the estate finds a target's finding by the
        // span its facts record.
        let mut moved_spans: HashMap<Span, Span> = HashMap::new();
        for mut d in std::mem::take(&mut report.diagnostics) {
            let original = d.span;
            match map.move_to_bicep(&mut d, json_source) {
                None => {
                    moved_spans.entry(original).or_insert(d.span);
                    kept.push(d);
                }
                Some(module) => report.moved.push((module, d)),
            }
        }
        report.diagnostics = kept;
        keep_excerpt_of_compiled(&mut report, json_source);
        if let Some(facts) = facts.as_deref_mut() {
            map.move_facts(facts, &moved_spans);
            facts.suppressions = suppressions.clone();
            if options.for_inventory {
                facts.fill_lines(&bicep);
            }
            if facts.needs_source() {
                report.source = Some(bicep.clone());
            }
        }
        report.facts = facts;
    }
    report
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if !suppressions.is_empty() {
        suppress_in_bicep(&mut report, &suppressions, options);
    }
    // `[[suppress]]` entries name the file the user wrote.
    crate::linter::apply_config_suppressions(&mut report.diagnostics, path, options);
    if !report.diagnostics.is_empty() {
        report.source = Some(bicep);
    }
    report
}

/// Applies the `.bicep` file's `// trustlint-ignore` comments to the findings placed
/// in it (sorted), and reports the comments that are wrong or suppress nothing (SUP001).
fn suppress_in_bicep(
    report: &mut FileReport,
    suppressions: &[crate::suppress::Suppression],
    options: &LintOptions,
) {
    let placed = report.diagnostics.len();
    crate::linter::apply_inline_suppressions(&mut report.diagnostics, suppressions, options);
    for problem in &mut report.diagnostics[placed..] {
        problem.fingerprint = crate::fingerprint::fingerprint_at(&problem.message, problem);
        problem.escape_controls();
    }
    report
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// The compiled template: `X.json` beside `X.bicep` when Bicep compiled it, else the
/// Bicep CLI's output (`bicep build --stdout`, else `az bicep build --stdout --file`).
fn compiled(path: &Path) -> Compiled {
    let sibling = compiled_sibling(path);
    if let Ok(bytes) = crate::source::read_bounded(&sibling) {
        if compiled_by_bicep(&bytes) {
            return Compiled::Json(bytes, sibling, true);
        }
    }
    let file = path.as_os_str();
    let attempts: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        ("bicep", vec!["build".as_ref(), "--stdout".as_ref(), file]),
        (
            "az",
            vec![
                "bicep".as_ref(),
                "build".as_ref(),
                "--stdout".as_ref(),
                "--file".as_ref(),
                file,
            ],
        ),
    ];
    for (program, args) in attempts {
        let Some(program) = cli(program) else {
            continue;
        };
        return match run(&program, &args) {
            Ok(text) => Compiled::Json(text.into_bytes(), sibling, false),
            Err(why) => Compiled::Failed(why),
        };
    }
    Compiled::Missing
}

/// The Bicep CLI's programs on `PATH`, looked up once per run.
fn cli(program: &str) -> Option<PathBuf> {
    static FOUND: std::sync::OnceLock<[Option<PathBuf>; 2]> = std::sync::OnceLock::new();
    let found = FOUND.get_or_init(|| [on_path("bicep"), on_path("az")]);
    match program {
        "bicep" => found[0].clone(),
        _ => found[1].clone(),
    }
}

/// The program's path when it is on `PATH` (no shell is ever involved).
fn on_path(program: &str) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.exe"), format!("{program}.cmd")]
    } else {
        vec![program.to_owned()]
    };
    std::env::split_paths(&std::env::var_os("PATH")?)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

/// Runs a compiler, with a timeout; its standard output, or what went wrong.
fn run(program: &Path, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    // Read both pipes while the process runs (a large template fills a pipe's buffer).
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s
                .take(crate::source::MAX_FILE_BYTES)
                .read_to_string(&mut text);
        }
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(1 << 20).read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + COMPILE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", COMPILE_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let (text, messages) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if status.success() {
        Ok(text)
    } else {
        Err(messages
            .trim()
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(" "))
    }
}

/// A `.bicep` file findings can be placed in: the linted file, or a local module file
/// it deploys (whose template Bicep compiled inline, as a nested deployment).
struct Frame {
    source: Arc<SourceFile>,
    declarations: Vec<Declaration>,
    /// The types of the `resources` array Bicep compiled from it, in order (array
    /// form; symbolic names need none).
    types: Vec<String>,
}

impl Frame {
    fn new(source: Arc<SourceFile>, types: Vec<String>) -> Frame {
        Frame {
            declarations: declarations(&source.text),
            source,
            types,
        }
    }

    fn text(&self) -> &str {
        &self.source.text
    }

    /// The declaration of the compiled resource keyed `key` in its `resources`: a
    /// symbolic name (`languageVersion` 2.0; `parent::child` for a nested resource),
    /// or an index matched by type and order (`existing` resources left out, as Bicep
    /// leaves them out) when both sides count the same, never a wrong declaration.
    fn declaration(&self, key: &str, full_type: &str) -> Option<Declaration> {
        let Ok(index) = key.parse::<usize>() else {
            let mut names = key.split("::");
            let top = names.next()?;
            let mut found = self
                .declarations
                .iter()
                .find(|d| matches!(d.kind, Kind::Resource | Kind::Module) && d.name == top)?
                .clone();
            for child in names {
                found = nested_resource(self.text(), found.body?, child)?;
            }
            return Some(found);
        };
        let is_type = |t: &String| t.eq_ignore_ascii_case(full_type);
        let nth = self
            .types
            .get(..index)?
            .iter()
            .filter(|t| is_type(t))
            .count();
        // Bicep writes every resource, in order, then every module.
        let resources = self.declarations.iter().filter(|d| {
            d.kind == Kind::Resource
                && self
                    .declared_type(d)
                    .is_some_and(|t| t.eq_ignore_ascii_case(full_type))
                && !self.is_existing(d)
        });
        let modules = self
            .declarations
            .iter()
            .filter(|d| d.kind == Kind::Module && full_type.eq_ignore_ascii_case(DEPLOYMENTS));
        let same_type: Vec<&Declaration> = resources.chain(modules).collect();
        let emitted = self.types.iter().filter(|t| is_type(t)).count();
        (same_type.len() == emitted)
            .then(|| same_type.get(nth).map(|d| (*d).clone()))
            .flatten()
    }

    /// The first quoted string of a declaration: a resource's `type@version`, a
    /// module's path.
    fn quoted<'f>(&'f self, d: &Declaration) -> Option<&'f str> {
        let text = &self.text()[d.span.start as usize..d.span.end as usize];
        text.split('\'').nth(1)
    }

    /// `Microsoft.Storage/storageAccounts` of `resource x 'Microsoft.Storage/storageAccounts@…'`.
    fn declared_type<'f>(&'f self, d: &Declaration) -> Option<&'f str> {
        let quoted = self.quoted(d)?;
        Some(quoted.split('@').next().unwrap_or(quoted))
    }

    fn is_existing(&self, d: &Declaration) -> bool {
        let text = &self.text()[d.span.start as usize..d.span.end as usize];
        let head = text.split('=').next().unwrap_or("");
        head.split_whitespace().any(|w| w == "existing")
    }

    /// The `.bicep` file a `module` declaration deploys, when it is a local file (not
    /// a registry or template spec reference), spelled as a walk would spell it.
    fn local_module(&self, d: &Declaration) -> Option<PathBuf> {
        (d.kind == Kind::Module).then_some(())?;
        let target = self.quoted(d)?;
        local_module_path(&self.source.path, target)
    }

    /// Is `name` one of this file's `param` declarations?
    fn is_param(&self, name: &str) -> bool {
        self.declarations
            .iter()
            .any(|d| d.kind == Kind::Param && d.name == name)
    }
}

/// The type of a module's compiled form.
const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";

/// The `.bicep` file a module or import path names beside `parent`, when it is a local
/// path (`br:`, `br/…:`, `ts:` and `ts/…:` are registry and template spec references).
fn local_module_path(parent: &Path, target: &str) -> Option<PathBuf> {
    let registry = ["br:", "br/", "ts:", "ts/"]
        .iter()
        .any(|prefix| target.starts_with(prefix));
    if registry || target.is_empty() || target.contains("${") {
        return None;
    }
    let folder = parent.parent().unwrap_or(Path::new(""));
    let path = crate::template::linked::beside_folder(folder, target);
    crate::bicep::is_bicep(&path).then_some(path)
}

/// Where a finding goes: a place in one of the frames, and what to relate.
struct Placed {
    frame: Rc<Frame>,
    span: Span,
    related: Vec<(Rc<Frame>, Span, String)>,
    /// The finding's own related locations (by index) found in a Bicep file: the
    /// values a module call passes.
    remapped: Vec<(usize, Rc<Frame>, Span)>,
    /// The body of the resource declaration the finding is about, when it was found.
    resource_body: Option<(Rc<Frame>, Span)>,
    /// The body of the registry module call that deploys the finding's resource.
    registry_call: Option<(Rc<Frame>, Span)>,
}

/// Moves findings from the compiled template to the Bicep sources.
struct Mapper<'m> {
    json: &'m str,
    root: Rc<Frame>,
    /// The types of each array-form `resources` of the compiled template, by pointer.
    types: Vec<(String, Vec<String>)>,
    /// Local module files met, read once.
    modules: RefCell<HashMap<PathBuf, Option<Rc<Frame>>>>,
}

impl<'m> Mapper<'m> {
    fn new(bicep: Arc<SourceFile>, json: &'m str, types: Vec<(String, Vec<String>)>) -> Mapper<'m> {
        let root_types = compiled_types(&types, "/resources");
        Mapper {
            json,
            root: Rc::new(Frame::new(bicep, root_types)),
            types,
            modules: RefCell::new(HashMap::new()),
        }
    }

    /// Moves one finding; its compiled location is kept as a related one. Returns the
    /// module file it now belongs to, when it is not the linted file. When its place
    /// is not found at all, it goes to the top of the file and says so.
    fn move_to_bicep(
        &self,
        d: &mut Diagnostic,
        json_source: &Arc<SourceFile>,
    ) -> Option<Arc<SourceFile>> {
        let original = d.span;
        let placed = self.place(d);
        let home = placed
            .as_ref()
            .filter(|p| !Rc::ptr_eq(&p.frame, &self.root))
            .map(|p| p.frame.source.clone());
        // A file relative to the one the finding ends up in: none for its own.
        let file_of = |frame: &Rc<Frame>| match &home {
            None if Rc::ptr_eq(frame, &self.root) => None,
            Some(h) if Arc::ptr_eq(h, &frame.source) => None,
            _ => Some(frame.source.clone()),
        };
        let remapped = placed.as_ref().map_or(&[][..], |p| &p.remapped[..]);
        for (i, r) in d.related.iter_mut().enumerate() {
            let found = match remapped.iter().find(|(at, _, _)| *at == i) {
                Some((_, frame, span)) => Some((frame.clone(), *span)),
                None if r.file.is_none() => {
                    placed.as_ref().and_then(|p| self.related_in_bicep(p, r))
                }
                None => None,
            };
            if let Some((frame, span)) = found {
                r.span = span;
                r.file = file_of(&frame);
            } else if r.file.is_none() {
                r.file = Some(json_source.clone());
            }
        }
        // Two findings' values from one place (a parameter's default object) relate once.
        let mut seen = std::collections::HashSet::new();
        d.related.retain(|r| {
            seen.insert((
                r.span,
                r.label.clone(),
                r.file.as_ref().map(|f| f.path.clone()),
            ))
        });
        // What the finding relates at its own compiled value (a whole expression Bicep
        // compiled an object literal into) is said once, with the compiled location.
        let mut label = "in the compiled template".to_owned();
        d.related.retain(|r| {
            let at_original =
                r.span == original && r.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, json_source));
            if at_original {
                label.push_str("; ");
                label.push_str(&r.label);
            }
            !at_original
        });
        d.related.push(Related {
            span: original,
            label,
            file: Some(json_source.clone()),
        });
        let Some(placed) = placed else {
            d.span = Span::new(0, 0);
            d.message.push_str(
                " (its place in this Bicep file was not found: see the compiled template)",
            );
            return None;
        };
        d.span = placed.span;
        for (frame, span, label) in placed.related.into_iter().rev() {
            let file = file_of(&frame);
            d.related.insert(0, Related { span, label, file });
        }
        home
    }

    /// Moves the spans of the estate's facts to the Bicep file: where a finding of
    /// this file moved from the same span, there (the estate finds a target's finding
    /// by its span); else where a finding at that value would go, kept in this file
    /// (a place in a local module file becomes the module call).
    fn move_facts(&self, facts: &mut crate::estate::FileFacts, moved: &HashMap<Span, Span>) {
        let place = |span: Span, pointer: &str, holder: &crate::diagnostic::ResourceInfo| {
            if let Some(&to) = moved.get(&span) {
                return to;
            }
            let mut d = Diagnostic::new(crate::diagnostic::Level::Note, span, String::new());
            d.resource = Some(holder.clone());
            d.pointer = pointer.to_owned();
            self.place_here(&d, None)
        };
        // A setting the fact points at without a pointer of its own: by the key it is
        // written under, in the resource's declaration.
        let aside = |span: Span, holder: &crate::diagnostic::ResourceInfo| {
            if let Some(&to) = moved.get(&span) {
                return to;
            }
            let mut d = Diagnostic::new(crate::diagnostic::Level::Note, span, String::new());
            d.resource = Some(holder.clone());
            d.pointer = holder.pointer.clone();
            self.place_here(&d, json_key_before(self.json, span.start as usize))
        };
        for call in &mut facts.calls {
            call.span = place(call.span, &call.pointer, &call.holder);
        }
        for target in &mut facts.targets {
            target.access.span = place(target.access.span, &target.pointer, &target.holder);
            if let Some((span, _)) = &mut target.locked_at {
                *span = aside(*span, &target.holder);
            }
        }
        for u in &mut facts.control_uses {
            u.span = place(u.span, &u.pointer, &u.holder);
            if let Some((span, _)) = &mut u.identity {
                *span = aside(*span, &u.holder);
            }
        }
        for link in &mut facts.managed_links {
            link.span = place(link.span, &link.pointer, &link.holder);
            if let Some(span) = &mut link.runtime_span {
                *span = aside(*span, &link.holder);
            }
        }
    }

    /// A place in this (the linted) file for `d`: where it would go, narrowed to the
    /// entry `key` of its resource's declaration when given and written once there;
    /// in a local module file, the root's module call instead; nothing found, the top
    /// of the file.
    fn place_here(&self, d: &Diagnostic, key: Option<&str>) -> Span {
        let Some(placed) = self.place(d) else {
            return Span::new(0, 0);
        };
        if let (Some(key), Some((frame, body))) = (key, &placed.resource_body) {
            if Rc::ptr_eq(frame, &self.root) {
                if let Some(at) = crate::bicep::unique_key_value(frame.text(), *body, key) {
                    return at;
                }
            }
        }
        if Rc::ptr_eq(&placed.frame, &self.root) {
            return placed.span;
        }
        // The root's declaration the finding came through.
        let top = d
            .resource
            .as_ref()
            .and_then(|r| steps(&r.pointer))
            .and_then(|steps| {
                let (_, key) = steps.first()?;
                self.root.declaration(key, DEPLOYMENTS)
            });
        top.map_or(Span::new(0, 0), |call| {
            first_line(self.root.text(), call.span)
        })
    }

    /// Where the finding's value is written: through the local module files it was
    /// deployed by, to the resource's property; or, for a resource of a registry
    /// module, to the value the module call passes; a value that came through a
    /// module's `param` goes up to what the caller passes for it.
    fn place(&self, d: &Diagnostic) -> Option<Placed> {
        let resource = d.resource.as_ref()?;
        let steps = steps(&resource.pointer)?;
        let mut frame = self.root.clone();
        let mut prefix = String::new();
        let mut calls: Vec<(Rc<Frame>, Declaration)> = Vec::new();
        for (i, (raw, key)) in steps.iter().enumerate() {
            let last = i + 1 == steps.len();
            let full_type = if last {
                &resource.full_type
            } else {
                DEPLOYMENTS
            };
            let Some(declaration) = frame.declaration(key, full_type) else {
                // The nearest enclosing declaration: the module call it came through.
                let (caller, call) = calls.pop()?;
                let span = first_line(caller.text(), call.span);
                return Some(self.placed(caller, span, &calls));
            };
            prefix.push_str("/resources/");
            prefix.push_str(raw);
            if last {
                let span = self.in_resource(&frame, &declaration, d, &resource.pointer);
                let body = declaration.body.map(|body| (frame.clone(), body));
                let mut placed = self.up_through_params(frame, span, calls, d);
                placed.resource_body = body;
                return Some(placed);
            }
            match frame
                .local_module(&declaration)
                .and_then(|path| self.module_frame(path, &prefix))
            {
                Some(module) => {
                    calls.push((frame, declaration));
                    frame = module;
                    prefix.push_str("/properties/template");
                }
                None => {
                    // A registry module: the values the call passes, when the finding
                    // names the parameters they came through ("… as parameter
                    // `networkAcls`"); the first decides. Only for a resource the
                    // module deploys itself: deeper, those labels may name the
                    // module's own inner deployments, whose parameters can share
                    // names with the call's.
                    let direct = i + 2 == steps.len();
                    let passed: Vec<(usize, Span)> = declaration
                        .body
                        .filter(|_| direct)
                        .map(|body| {
                            d.related
                                .iter()
                                .enumerate()
                                .filter(|(_, r)| r.file.is_none())
                                .filter_map(|(i, r)| {
                                    let parameter = r
                                        .label
                                        .split("as parameter `")
                                        .nth(1)?
                                        .split('`')
                                        .next()?;
                                    let params = ["params", parameter];
                                    let at =
                                        crate::bicep::property_path(frame.text(), body, &params)?;
                                    Some((i, at))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let by_parameter = || {
                        declaration
                            .body
                            .filter(|_| direct)
                            .and_then(|body| passed_from_parameter(&frame, body, d))
                    };
                    let span = match passed.first().map(|p| p.1).or_else(by_parameter) {
                        Some(span) => self.refine(&frame, d, span),
                        None => first_line(frame.text(), declaration.span),
                    };
                    let mut placed = self.up_through_params(frame.clone(), span, calls, d);
                    placed
                        .remapped
                        .extend(passed.into_iter().map(|(i, at)| (i, frame.clone(), at)));
                    // The caller's own parameters it passes whole (`networkAcls:
                    // networkAcls`): their defaults may be what decided.
                    if let Some(body) = declaration.body.filter(|_| direct) {
                        placed.registry_call = Some((frame.clone(), body));
                    }
                    return Some(placed);
                }
            }
        }
        None
    }

    /// Where a related location of the compiled template was written in Bicep: a
    /// parameter's default value at its `param` declaration; a property of the
    /// finding's resource (the key before it in the JSON) where that key is written
    /// once in the resource's declaration.
    fn related_in_bicep(&self, placed: &Placed, r: &Related) -> Option<(Rc<Frame>, Span)> {
        if let Some(rest) = r.label.strip_prefix("default value of parameter `") {
            let name = rest.split('`').next()?;
            // Declared in the resource's file or a file that deploys it; for a resource
            // of a registry module, only a parameter the call passes whole (else the
            // default may be the registry module's own).
            let candidates: Vec<&Rc<Frame>> = match (&placed.resource_body, &placed.registry_call) {
                (Some((frame, _)), _) => vec![frame, &placed.frame, &self.root],
                (None, Some((frame, call))) => match passed_whole(frame, *call, name) {
                    Some(_) => vec![frame],
                    None => vec![],
                },
                (None, None) => vec![],
            };
            let (frame, default) = candidates
                .into_iter()
                .find_map(|frame| Some((frame.clone(), param_default(frame, name)?)))?;
            // Inside a default object, the key the compiled value is written under.
            let inner = json_key_before(self.json, r.span.start as usize)
                .and_then(|key| crate::bicep::unique_key_value(frame.text(), default, key));
            return Some((frame, inner.unwrap_or(default)));
        }
        if r.label.contains("parameter `") {
            return None; // a value passed or given for a parameter, not a property
        }
        // A literal inside the compiled expression (`'Deny'` in the `shallowMerge(…)`
        // Bicep made of a conditional object): where it is written once in the object
        // literal around the finding's place.
        if let Some(written) = self.json_text(r.span) {
            let text = placed.frame.text();
            // Object literals stay inside their declaration: only it is scanned.
            let declaration = placed
                .frame
                .declarations
                .iter()
                .map(|d| d.span)
                .find(|d| d.start <= placed.span.start && placed.span.end <= d.end);
            let within = declaration.unwrap_or(Span::new(0, text.len()));
            let around = crate::bicep::enclosing_object(text, within, placed.span);
            if let Some(at) = around.and_then(|object| unique_literal(text, object, written)) {
                return Some((placed.frame.clone(), at));
            }
        }
        let key = json_key_before(self.json, r.span.start as usize)?;
        let (frame, body) = placed.resource_body.as_ref()?;
        match crate::bicep::key_values(frame.text(), *body, key)[..] {
            [at] => {
                // A value around the finding's own place (the whole `properties` Bicep
                // compiled into one expression) says nothing the finding does not: it
                // stays in the compiled template, where it is one line.
                let around_finding = Rc::ptr_eq(frame, &placed.frame)
                    && at != placed.span
                    && at.start <= placed.span.start
                    && placed.span.end <= at.end;
                return (!around_finding).then(|| (frame.clone(), at));
            }
            [] => {}
            // Written twice in the resource: which one is not known here.
            _ => return None,
        }
        // A property the resource takes from a variable (`networkAcls: lockedDown`):
        // the key in the one `var` of its file that writes it.
        let body_text = &frame.text()[body.start as usize..body.end as usize];
        let named_in_body = |name: &str| {
            body_text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == name)
        };
        let mut in_vars = frame
            .declarations
            .iter()
            .filter(|v| v.kind == Kind::Var && named_in_body(&v.name))
            .filter_map(|v| crate::bicep::unique_key_value(frame.text(), v.span, key));
        let at = in_vars.next()?;
        in_vars.next().is_none().then(|| (frame.clone(), at))
    }

    /// The place of the finding's property inside a resource declaration.
    fn in_resource(
        &self,
        frame: &Frame,
        declaration: &Declaration,
        d: &Diagnostic,
        at: &str,
    ) -> Span {
        let Some(body) = declaration.body else {
            return first_line(frame.text(), declaration.span);
        };
        let below = d.pointer.strip_prefix(at).unwrap_or("");
        let keys: Vec<String> = below
            .split('/')
            .filter(|k| !k.is_empty())
            .take_while(|k| k.parse::<usize>().is_err())
            .map(unescape_pointer)
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (span, depth) = deepest_written(frame.text(), body, &keys);
        if depth == 0 {
            return first_line(frame.text(), declaration.span);
        }
        self.refine(frame, d, span)
    }

    /// A place in a module file that is only a parameter's name (`bypass: bypass`)
    /// goes up to the value the module call passes for it, while the caller writes
    /// one; the module's place is kept as a related location.
    fn up_through_params(
        &self,
        mut frame: Rc<Frame>,
        mut span: Span,
        mut calls: Vec<(Rc<Frame>, Declaration)>,
        d: &Diagnostic,
    ) -> Placed {
        let mut related = Vec::new();
        let mut remapped = Vec::new();
        while let Some((caller, call)) = calls.last() {
            let written = &frame.text()[span.start as usize..span.end as usize];
            let passed = call
                .body
                .filter(|_| frame.is_param(written))
                .and_then(|body| {
                    crate::bicep::property_path(caller.text(), body, &["params", written])
                });
            let Some(passed) = passed else {
                break;
            };
            related.push((
                frame.clone(),
                span,
                format!("the module's parameter `{written}`, used here"),
            ));
            // The compiled deployment's value for it is this one, when one label names
            // that parameter (several levels may pass a parameter of one name).
            let label = format!("as parameter `{written}`");
            let naming: Vec<usize> = d
                .related
                .iter()
                .enumerate()
                .filter(|(_, r)| r.file.is_none() && r.label.ends_with(&label))
                .map(|(i, _)| i)
                .collect();
            if let [only] = naming[..] {
                remapped.push((only, caller.clone(), passed));
            }
            let (caller, _) = calls.pop().expect("just seen");
            span = self.refine(&caller, d, passed);
            frame = caller;
        }
        let mut placed = self.placed(frame, span, &calls);
        placed.related.extend(related);
        placed.remapped = remapped;
        placed
    }

    /// A place, with the module call that deployed its file related.
    fn placed(&self, frame: Rc<Frame>, span: Span, calls: &[(Rc<Frame>, Declaration)]) -> Placed {
        let related = calls
            .last()
            .map(|(caller, call)| {
                (
                    caller.clone(),
                    first_line(caller.text(), call.span),
                    format!("deployed by module `{}`", call.name),
                )
            })
            .into_iter()
            .collect();
        Placed {
            frame,
            span,
            related,
            remapped: Vec::new(),
            resource_body: None,
            registry_call: None,
        }
    }

    /// The local module file at `path`, read once; its compiled resource types are
    /// read from the template at `prefix`.
    fn module_frame(&self, path: PathBuf, prefix: &str) -> Option<Rc<Frame>> {
        if let Some(known) = self.modules.borrow().get(&path) {
            return known.clone();
        }
        let frame = SourceFile::read(&path).map(|source| {
            let types = compiled_types(
                &self.types,
                &format!("{prefix}/properties/template/resources"),
            );
            Rc::new(Frame::new(Arc::new(source), types))
        });
        self.modules.borrow_mut().insert(path, frame.clone());
        frame
    }

    /// Narrows a place inside a value: Bicep compiles spreads and conditional objects
    /// into one expression, where the JSON path stops. The key the finding is about (its
    /// label names it: "`bypass` admits …") when written exactly once in that value,
    /// else the literal that decided it (a related origin in the compiled template,
    /// `'AzureServices'`) when written exactly once there.
    fn refine(&self, frame: &Frame, d: &Diagnostic, span: Span) -> Span {
        let by_key = label_key(&d.label)
            .and_then(|key| crate::bicep::unique_key_value(frame.text(), span, key));
        let by_literal = || {
            d.related.iter().filter(|r| r.file.is_none()).find_map(|r| {
                let written = self.json_text(r.span)?;
                unique_literal(frame.text(), span, written)
            })
        };
        by_key.or_else(by_literal).unwrap_or(span)
    }

    /// The compiled template's text at `span`, when it is plain text.
    fn json_text(&self, span: Span) -> Option<&'m str> {
        self.json
            .get(span.start as usize..span.end as usize)
            .map(|t| t.trim_matches('\''))
            .filter(|t| !t.is_empty() && !t.contains(['\'', '"', '\n']))
    }
}

/// The value a module call passes that is one of the caller's own parameters the
/// finding names ("default value of parameter `networkAcls`" and the call passes
/// `networkAcls: networkAcls`).
fn passed_from_parameter(frame: &Frame, call: Span, d: &Diagnostic) -> Option<Span> {
    d.related.iter().find_map(|r| {
        let rest = r
            .label
            .strip_prefix("default value of parameter `")
            .or_else(|| r.label.strip_prefix("value of parameter `"))?;
        let name = rest.split('`').next()?;
        if !frame.is_param(name) {
            return None;
        }
        passed_whole(frame, call, name)
    })
}

/// The value in a module call's `params` that is `name` itself (`networkAcls:
/// networkAcls`), when there is one.
fn passed_whole(frame: &Frame, call: Span, name: &str) -> Option<Span> {
    let params = crate::bicep::property_path(frame.text(), call, &["params"])?;
    crate::bicep::entries(frame.text(), params)
        .into_iter()
        .map(|(_, value)| value)
        .find(|value| &frame.text()[value.start as usize..value.end as usize] == name)
}

/// The default value of `param <name> <type> = <default>` in a frame.
fn param_default(frame: &Frame, name: &str) -> Option<Span> {
    let d = frame
        .declarations
        .iter()
        .find(|d| d.kind == Kind::Param && d.name == name)?;
    let text = &frame.text()[d.span.start as usize..d.span.end as usize];
    let equals = text.find('=')?;
    let value = &text[equals + 1..];
    let start = d.span.start as usize + equals + 1 + (value.len() - value.trim_start().len());
    Some(Span::new(start, d.span.end as usize))
}

/// The JSON key whose value starts at `at` (`"defaultAction": "Deny"` → `defaultAction`),
/// when the text before it is a plain key; never `value` (a parameter's value).
fn json_key_before(json: &str, at: usize) -> Option<&str> {
    let before = json.get(..at)?.trim_end();
    let before = before.strip_suffix(':')?.trim_end();
    let before = before.strip_suffix('"')?;
    let start = before.rfind('"')?;
    let key = &before[start + 1..];
    (!key.is_empty()
        && key != "value"
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then_some(key)
}

/// The keys of a compiled resource's pointer, a deployment level at a time:
/// `/resources/a/properties/template/resources/0` → `[a, 0]` (as written, and unescaped).
fn steps(pointer: &str) -> Option<Vec<(&str, String)>> {
    pointer
        .split("/properties/template")
        .map(|step| {
            let raw = step.strip_prefix("/resources/")?;
            (!raw.is_empty() && !raw.contains('/')).then(|| (raw, unescape_pointer(raw)))
        })
        .collect()
}

/// A JSON pointer segment as the key it names.
fn unescape_pointer(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The types of the compiled `resources` array at `pointer` (empty when it is an object
/// of symbolic names).
fn compiled_types(types: &[(String, Vec<String>)], pointer: &str) -> Vec<String> {
    types
        .iter()
        .find(|(at, _)| at == pointer)
        .map(|(_, types)| types.clone())
        .unwrap_or_default()
}

/// The one place inside `within` where `'literal'` is written, when there is one.
fn unique_literal(text: &str, within: Span, literal: &str) -> Option<Span> {
    let quoted = format!("'{literal}'");
    let slice = text.get(within.start as usize..within.end as usize)?;
    let mut hits = slice.match_indices(&quoted);
    let (at, _) = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    let start = within.start as usize + at;
    Some(Span::new(start, start + quoted.len()))
}

/// The first name in backticks of a finding's label (`bypass`, `publicNetworkAccess`).
fn label_key(label: &str) -> Option<&str> {
    let name = label.split('`').nth(1)?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
}

/// The first line of a span (a declaration's head).
fn first_line(text: &str, span: Span) -> Span {
    let start = span.start as usize;
    let end = text[start..span.end as usize]
        .find('\n')
        .map_or(span.end as usize, |i| start + i);
    Span::new(start, end)
}

/// The `.bicep` files of the run that other `.bicep` files of the run deploy as local
/// modules (or import from), each with its parents (indices into `paths`). Those files
/// are linted through their parents, never alone with their own defaults.
pub fn modules_of_run(paths: &[PathBuf], run: &crate::linter::RunFiles) -> BicepRun {
    use rayon::prelude::*;
    let sources: Vec<usize> = (0..paths.len())
        .filter(|&i| crate::bicep::is_bicep(&paths[i]))
        .collect();
    if sources.is_empty() {
        return BicepRun::default();
    }
    let deployed: Vec<(usize, Option<Referenced>)> = sources
        .par_iter()
        .map(|&i| (i, local_modules(&paths[i])))
        .collect();
    let mut silent = std::collections::HashSet::new();
    let mut deploys = std::collections::HashSet::new();
    for (i, referenced) in &deployed {
        let Some(referenced) = referenced else {
            continue;
        };
        if !referenced.mentions_suppression {
            silent.insert(*i);
        }
        if referenced.deploys {
            deploys.insert(*i);
        }
    }
    let mut parents: HashMap<usize, Vec<usize>> = HashMap::new();
    for (parent, referenced) in &deployed {
        let Some(referenced) = referenced else {
            continue;
        };
        let modules = referenced.modules.iter().map(|m| (m, true));
        let imports = referenced.imports.iter().map(|m| (m, false));
        for (target, is_module) in modules.chain(imports) {
            let Some(&child) = run.get(target.as_os_str()) else {
                continue;
            };
            if child != *parent && compiled_into_parent(is_module, deploys.contains(&child)) {
                parents.entry(child).or_default().push(*parent);
            }
        }
    }
    for list in parents.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    // Files deployed only around a cycle (a.bicep deploys b.bicep, which deploys
    // a.bicep) are reached from no file that is linted: they are linted alone.
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&child, list) in &parents {
        for &parent in list {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut reached = std::collections::HashSet::new();
    let mut queue: Vec<usize> = children
        .keys()
        .copied()
        .filter(|p| !parents.contains_key(p))
        .collect();
    while let Some(parent) = queue.pop() {
        for &child in children.get(&parent).map_or(&[][..], |c| &c[..]) {
            if reached.insert(child) {
                queue.push(child);
            }
        }
    }
    parents.retain(|child, _| reached.contains(child));
    BicepRun {
        parents,
        children,
        silent,
    }
}

/// What the run's pre-pass over its `.bicep` files found.
#[derive(Debug, Default)]
pub struct BicepRun {
    /// The files other `.bicep` files of the run deploy (or import from), with those
    /// parents (indices into the run's paths).
    pub parents: HashMap<usize, Vec<usize>>,
    /// The files each `.bicep` of the run deploys or imports from (also those left out
    /// of `parents`, around a cycle).
    children: HashMap<usize, Vec<usize>>,
    /// The files read that mention no suppression.
    pub silent: std::collections::HashSet<usize>,
}

/// What one `.bicep` file references, read by the run's pre-pass.
struct Referenced {
    /// Local `.bicep` files it deploys as modules.
    modules: Vec<PathBuf>,
    /// Local `.bicep` files it imports from.
    imports: Vec<PathBuf>,
    /// It declares a `resource` or `module`.
    deploys: bool,
    mentions_suppression: bool,
}

/// How many folders up a module's parent is looked for, and how many `.bicep` files
/// of each folder are read.
const PARENT_SEARCH_DEPTH: usize = 4;
const PARENT_SEARCH_FILES: usize = 256;

/// Is a file that a parent names in a `module` declaration (`is_module`) or an `import`
/// linted through that parent? A module file is compiled into the file that deploys it;
/// a file imported from is compiled into its importers only for what it exports: one
/// that deploys resources of its own is a template in its own right.
fn compiled_into_parent(is_module: bool, child_deploys: bool) -> bool {
    is_module || !child_deploys
}

/// A `.bicep` file beside `path` or in a folder above it (a few levels) that deploys
/// it as a local module or imports from it.
fn parent_on_disk(path: &Path) -> Option<PathBuf> {
    let target = crate::linter::resolved(path);
    let deploys = local_modules(path).is_some_and(|r| r.deploys);
    let absolute = crate::paths::absolute(path);
    let mut folder = absolute.parent();
    for level in 0..PARENT_SEARCH_DEPTH {
        let Some(dir) = folder else {
            break;
        };
        let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| crate::bicep::is_bicep(p))
            .collect();
        // The first files by name, whatever order the directory lists them in.
        candidates.sort();
        candidates.truncate(PARENT_SEARCH_FILES);
        let found = candidates.into_iter().find(|candidate| {
            local_modules(candidate).is_some_and(|r| {
                let imports = r
                    .imports
                    .iter()
                    .filter(|_| compiled_into_parent(false, deploys));
                r.modules
                    .iter()
                    .chain(imports)
                    .any(|m| crate::linter::resolved(m) == target)
            })
        });
        if let Some(found) = found {
            // Spelled from the named file's folder, as the user wrote that one.
            let name = found.file_name()?.to_string_lossy().into_owned();
            let written = format!("{}{name}", "../".repeat(level));
            let folder = path.parent().unwrap_or(Path::new(""));
            return Some(crate::template::linked::beside_folder(folder, &written));
        }
        folder = dir.parent();
    }
    None
}

/// The local `.bicep` files a Bicep file deploys as modules or imports from, as
/// written in it: both are compiled into its template.
fn local_modules(path: &Path) -> Option<Referenced> {
    let source = SourceFile::read(path)?;
    let text = &source.text;
    let found = crate::bicep::references(text);
    let local = |targets: Vec<&str>| -> Vec<PathBuf> {
        targets
            .into_iter()
            .filter_map(|target| local_module_path(path, target))
            .collect()
    };
    Some(Referenced {
        modules: local(found.modules),
        imports: local(found.imports),
        deploys: found.deploys,
        mentions_suppression: crate::suppress::mentioned(text),
    })
}

/// The findings moved to the `.bicep` relate their place in the compiled template,
/// which may be a generated file of 30,000 lines: the report keeps only the lines those
/// related locations show (see [`SourceFile::excerpt`]), not the whole text.
fn keep_excerpt_of_compiled(report: &mut FileReport, compiled: &Arc<SourceFile>) {
    let related = report
        .diagnostics
        .iter_mut()
        .chain(report.moved.iter_mut().map(|(_, d)| d))
        .flat_map(|d| d.related.iter_mut())
        .filter(|r| r.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, compiled)));
    let mut in_compiled: Vec<&mut Related> = related.collect();
    if in_compiled.is_empty() {
        return;
    }
    let spans: Vec<Span> = in_compiled.iter().map(|r| r.span).collect();
    let copy = Arc::new(compiled.excerpt(&spans));
    for r in &mut in_compiled {
        r.span = copy.span_in_excerpt(r.span);
        r.file = Some(copy.clone());
    }
}

/// The report of a `.bicep` file that a parent in the run deploys: linted through
/// its parents (see [`place_module_findings`]), so nothing is done with it alone.
pub fn module_placeholder(path: &Path) -> FileReport {
    FileReport::new(path, FileOutcome::Template, 0)
}

/// Gives the local module files the findings their parents placed in them (a module
/// file outside the run gets a report of its own, after the run's files), applies
/// their comment and config suppressions, and marks a module whose parents could not
/// be linted as skipped.
pub fn place_module_findings(
    paths: &[PathBuf],
    reports: &mut Vec<FileReport>,
    bicep: &BicepRun,
    run: &crate::linter::RunFiles,
    options: &LintOptions,
) {
    let modules = &bicep.parents;
    let mut children: Vec<usize> = modules.keys().copied().collect();
    children.sort_unstable();
    // A module is linted when one of its parents was. A module skipped makes its own
    // modules checked again (a worklist: linear in files and edges).
    let mut due: Vec<usize> = children.iter().rev().copied().collect();
    while let Some(child) = due.pop() {
        let linted = modules[&child]
            .iter()
            .any(|&p| reports[p].outcome == FileOutcome::Template);
        if linted || reports[child].outcome != FileOutcome::Template {
            continue;
        }
        let parent = crate::paths::display_path(&paths[modules[&child][0]]);
        reports[child].outcome = FileOutcome::Skipped(format!(
            "deployed (or imported) by `{parent}`, which could not be linted: a module file is linted through the files that deploy it"
        ));
        let below = bicep.children.get(&child).into_iter().flatten();
        due.extend(below.copied().filter(|c| modules.contains_key(c)));
    }
    let moved: Vec<(Arc<SourceFile>, Diagnostic)> = reports
        .iter_mut()
        .flat_map(|r| std::mem::take(&mut r.moved))
        .collect();
    let mut touched: Vec<usize> = children
        .iter()
        .copied()
        .filter(|&c| reports[c].outcome == FileOutcome::Template)
        .collect();
    let mut extra: HashMap<PathBuf, usize> = HashMap::new();
    for (source, d) in moved {
        let index = match run.get(source.path.as_os_str()) {
            Some(&i) if i < reports.len() => i,
            _ => *extra.entry(source.path.clone()).or_insert_with(|| {
                let mut report = FileReport::new(
                    &source.path,
                    FileOutcome::Template,
                    source.text.len() as u64,
                );
                report.source = Some(source.clone());
                reports.push(report);
                reports.len() - 1
            }),
        };
        let report = &mut reports[index];
        report.source.get_or_insert_with(|| source.clone());
        report.outcome = FileOutcome::Template;
        report.diagnostics.push(d);
        touched.push(index);
    }
    touched.sort_unstable();
    touched.dedup();
    for index in touched {
        let report = &mut reports[index];
        // A module deployed twice, or twice by one parent, reports a finding once.
        report
            .diagnostics
            .sort_by(|a, b| (a.sort_key(), &a.message).cmp(&(b.sort_key(), &b.message)));
        report
            .diagnostics
            .dedup_by(|a, b| a.sort_key() == b.sort_key() && a.message == b.message);
        let path = report.path.clone();
        // Nothing to place and no comment to apply: the pre-pass read it already.
        if report.diagnostics.is_empty() && bicep.silent.contains(&index) {
            continue;
        }
        let source = report
            .source
            .clone()
            .or_else(|| SourceFile::read(&path).map(Arc::new));
        if let Some(source) = source {
            if crate::suppress::mentioned(&source.text) {
                let suppressions = crate::bicep::comment_suppressions(&source.text);
                suppress_in_bicep(report, &suppressions, options);
            }
            if !report.diagnostics.is_empty() {
                report.source = Some(source);
            }
        }
        crate::linter::apply_config_suppressions(&mut report.diagnostics, &path, options);
    }
}
