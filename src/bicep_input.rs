//! Linting a `.bicep` source: its compiled template (the `X.json` beside it compiled by
//! Bicep, else the Bicep CLI's output) is linted, and every finding is moved to the
//! place in the `.bicep` file that decides it, with the compiled location related. See
//! docs/design/bicep.md for what is mapped and what is not yet.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bicep::{compiled_by_bicep, compiled_sibling, declarations, deepest_written, Kind};
use crate::diagnostic::{Diagnostic, Related};
use crate::linter::{FileOutcome, FileReport, LintOptions};
use crate::source::{SourceFile, Span};

/// How long the Bicep CLI may take to compile one file.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The compiled template of a `.bicep` file, or why there is none.
enum Compiled {
    /// The JSON bytes, and where they came from (for related locations).
    Json(Vec<u8>, PathBuf),
    /// Neither a compiled `X.json` beside it nor a Bicep CLI on `PATH`.
    Missing,
    /// The CLI failed: what it said.
    Failed(String),
}

/// Lints a `.bicep` file. `named`: given on the command line (a missing compiled
/// template is then an error; in a walk, a note).
pub fn lint(path: &Path, options: &LintOptions, named: bool) -> FileReport {
    let (json, json_path) = match compiled(path) {
        Compiled::Json(text, from) => (text, from),
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
    // The estate's facts hold the compiled template's spans: not mapped yet, so a
    // `.bicep` file takes no part in cross-file findings (docs/design/bicep.md).
    report.facts = None;
    report.links.clear();
    // A compiled template that does not parse is reported where the problem is.
    if report.outcome == FileOutcome::Invalid {
        return report;
    }
    let json_source = report.source.clone();
    report.path = path.to_path_buf();
    report.source = None;
    // The source: where findings go, and its own `// trustlint-ignore` comments.
    let Some(bicep) = crate::source::read_bounded(path)
        .ok()
        .and_then(|bytes| SourceFile::decode_owned(path.to_path_buf(), bytes).ok())
        .map(Arc::new)
    else {
        return report;
    };
    let types = std::mem::take(&mut report.resource_types);
    if let Some(json_source) = &json_source {
        let map = Mapper::new(&bicep.text, &json_source.text, &types);
        for d in &mut report.diagnostics {
            map.move_to_bicep(d, json_source);
        }
    }
    report
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if crate::suppress::mentioned(&bicep.text) {
        suppress_in_bicep(&mut report, &bicep.text, options);
    }
    if !report.diagnostics.is_empty() {
        report.source = Some(bicep);
    }
    report
}

/// Applies the `.bicep` file's `// trustlint-ignore` comments to the findings placed
/// in it, and reports the comments that are wrong or suppress nothing (SUP001).
fn suppress_in_bicep(report: &mut FileReport, text: &str, options: &LintOptions) {
    let suppressions = crate::bicep::comment_suppressions(text);
    if suppressions.is_empty() {
        return;
    }
    let enabled = |id: &str| options.rules.iter().any(|r| r.meta().id == id);
    let problems = crate::suppress::apply(&mut report.diagnostics, &suppressions, enabled);
    let sup001 = &crate::rules::tool::invalid_suppression::META;
    if enabled(sup001.id) {
        for mut problem in problems {
            problem.rule = sup001.id;
            problem.fingerprint = crate::fingerprint::fingerprint_at(&problem.message, &problem);
            problem.escape_controls();
            report.diagnostics.push(problem);
        }
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
            return Compiled::Json(bytes, sibling);
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
            Ok(text) => Compiled::Json(text.into_bytes(), sibling),
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
            let _ = s.take(1 << 30).read_to_string(&mut text);
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

/// Moves findings from the compiled template to the Bicep source.
struct Mapper<'m> {
    bicep: &'m str,
    json: &'m str,
    /// The compiled template's top-level resource types, in order (array form).
    types: &'m [String],
    declarations: Vec<crate::bicep::Declaration>,
}

impl<'m> Mapper<'m> {
    fn new(bicep: &'m str, json: &'m str, types: &'m [String]) -> Mapper<'m> {
        Mapper {
            bicep,
            json,
            types,
            declarations: declarations(bicep),
        }
    }

    /// The Bicep declaration of the compiled resource at `pointer` (`/resources/<symbol>`
    /// in `languageVersion` 2.0 output; `/resources/<i>` matched by type and order,
    /// `existing` resources left out as Bicep leaves them out).
    fn declaration(&self, pointer: &str, full_type: &str) -> Option<&crate::bicep::Declaration> {
        let rest = pointer.strip_prefix("/resources/")?;
        // A resource of a module (a nested deployment): its `module` declaration, the
        // nearest place the user wrote (values passed to the module are not mapped yet).
        let rest = rest.split('/').next().unwrap_or(rest);
        if let Ok(index) = rest.parse::<usize>() {
            let is_type = |t: &String| t.eq_ignore_ascii_case(full_type);
            let nth = self
                .types
                .get(..index)?
                .iter()
                .filter(|t| is_type(t))
                .count();
            let same_type: Vec<&crate::bicep::Declaration> = self
                .declarations
                .iter()
                .filter(|d| match d.kind {
                    Kind::Resource => self
                        .declared_type(d)
                        .is_some_and(|t| t.eq_ignore_ascii_case(full_type)),
                    Kind::Module => {
                        full_type.eq_ignore_ascii_case("Microsoft.Resources/deployments")
                    }
                    _ => false,
                })
                .filter(|d| !self.is_existing(d))
                .collect();
            // Only when both sides count the same: never a wrong declaration.
            let emitted = self.types.iter().filter(|t| is_type(t)).count();
            return (same_type.len() == emitted)
                .then(|| same_type.get(nth).copied())
                .flatten();
        }
        self.declarations
            .iter()
            .find(|d| matches!(d.kind, Kind::Resource | Kind::Module) && d.name == rest)
    }

    /// `Microsoft.Storage/storageAccounts` of `resource x 'Microsoft.Storage/storageAccounts@…'`.
    fn declared_type(&self, d: &crate::bicep::Declaration) -> Option<&'m str> {
        let text = &self.bicep[d.span.start as usize..d.span.end as usize];
        let quoted = text.split('\'').nth(1)?;
        Some(quoted.split('@').next().unwrap_or(quoted))
    }

    fn is_existing(&self, d: &crate::bicep::Declaration) -> bool {
        let text = &self.bicep[d.span.start as usize..d.span.end as usize];
        let head = text.split('=').next().unwrap_or("");
        head.split_whitespace().any(|w| w == "existing")
    }

    /// Moves one finding; when its place cannot be found, it goes to the top of the file
    /// and says so, with the compiled location related.
    fn move_to_bicep(&self, d: &mut Diagnostic, json_source: &Arc<SourceFile>) {
        let original = d.span;
        let mapped = self.place(d);
        for r in d.related.iter_mut().filter(|r| r.file.is_none()) {
            r.file = Some(json_source.clone());
        }
        d.related.push(Related {
            span: original,
            label: "in the compiled template".to_owned(),
            file: Some(json_source.clone()),
        });
        match mapped {
            Some(span) => d.span = span,
            None => {
                d.span = Span::new(0, 0);
                d.message.push_str(
                    " (its place in this Bicep file was not found: see the compiled template)",
                );
            }
        }
    }

    /// Where in the Bicep file the finding's value is written.
    fn place(&self, d: &Diagnostic) -> Option<Span> {
        let resource = d.resource.as_ref()?;
        let nested = resource.pointer.matches("/resources/").count() > 1;
        if nested {
            let top = resource
                .pointer
                .split('/')
                .take(3)
                .collect::<Vec<_>>()
                .join("/");
            let declaration = self.declaration(&top, "Microsoft.Resources/deployments")?;
            // The value the module call passes, when the finding names the parameter it
            // came through ("passed to deployment … as parameter `networkAcls`").
            let passed = declaration.body.and_then(|body| {
                d.related.iter().filter(|r| r.file.is_none()).find_map(|r| {
                    let parameter = r.label.split("as parameter `").nth(1)?.split('`').next()?;
                    crate::bicep::property_path(self.bicep, body, &["params", parameter])
                })
            });
            return Some(match passed {
                Some(span) => self.refine(d, span),
                None => first_line(self.bicep, declaration.span),
            });
        }
        let declaration = self.declaration(&resource.pointer, &resource.full_type)?;
        let Some(body) = declaration.body else {
            return Some(first_line(self.bicep, declaration.span));
        };
        let below = d
            .pointer
            .strip_prefix(resource.pointer.as_str())
            .unwrap_or("");
        let keys: Vec<String> = below
            .split('/')
            .filter(|k| !k.is_empty())
            .take_while(|k| k.parse::<usize>().is_err())
            .map(|k| k.replace("~1", "/").replace("~0", "~"))
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (span, depth) = deepest_written(self.bicep, body, &keys);
        if depth == 0 {
            return Some(first_line(self.bicep, declaration.span));
        }
        Some(self.refine(d, span))
    }

    /// Narrows a place inside a value: Bicep compiles spreads and conditional objects
    /// into one expression, where the JSON path stops. The key the finding is about (its
    /// label names it: "`bypass` admits …") when written exactly once in that value,
    /// else the literal that decided it (a related origin in the compiled template,
    /// `'AzureServices'`) when written exactly once there.
    fn refine(&self, d: &Diagnostic, span: Span) -> Span {
        let by_key = label_key(&d.label)
            .and_then(|key| crate::bicep::unique_key_value(self.bicep, span, key));
        let by_literal = || {
            d.related.iter().filter(|r| r.file.is_none()).find_map(|r| {
                let written = self.json_text(r.span)?;
                unique_literal(self.bicep, span, written)
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
