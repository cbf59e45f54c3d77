//! trustlint: an offline linter for Azure ARM templates and compiled Bicep that finds
//! reliance on the retiring "trusted Microsoft services" firewall bypass.
//!
//! The pipeline reads top to bottom: [`discover`] files → [`linter`] (decode, [`parse`],
//! [`template`] model, [`rules`]) in parallel → [`report`] on the main thread.

pub mod adf_git;
pub mod baseline;
pub mod bicep;
pub mod bicep_input;
pub mod cli;
pub mod config;
pub mod date;
pub mod diagnostic;
pub mod discover;
pub mod estate;
pub mod expand;
pub mod fingerprint;
pub mod inventory;
pub mod linter;
pub mod parameters;
pub mod parse;
pub mod paths;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod template;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use cli::{CheckArgs, Cli, Command, FailOn, Format, RulesArgs, RulesFormat};
use date::Date;
use diagnostic::Level;
use linter::{FileOutcome, FileReport, LintOptions};
use rules::{Rule, RuleOptions};

/// Exit codes, as documented in `spec/cli.md`.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const FAILURE: u8 = 2;
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let result = match cli.command {
        Command::Check(args) => check(args, stdout, stderr),
        Command::Rules(args) => list_rules(args, stdout),
        Command::Rule { id } => show_rule(&id, stdout),
        Command::Inventory(args) => inventory(args, stdout, stderr),
        Command::Expand {
            template,
            parameters,
        } => on_big_stack(move || expand::expand(&template, parameters.as_deref())).and_then(
            |json| {
                let mut text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
                text.push('\n');
                write_report(stdout, text.as_bytes())?;
                Ok(exit::CLEAN)
            },
        ),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(stderr, "trustlint: error: {message}");
            exit::FAILURE
        }
    }
}

fn as_of(arg: Option<&str>) -> Result<Date, String> {
    arg.map_or_else(
        || Ok(Date::today()),
        |s| Date::parse(s).map_err(|e| format!("--as-of: {e}")),
    )
}

/// Resolves `--select` / `--ignore` (IDs or prefixes, case-insensitive) to the rules to run.
pub fn select_rules(
    select: &[String],
    ignore: &[String],
) -> Result<Vec<&'static dyn Rule>, String> {
    // The IDs the flag's patterns name; `None` when it gives none.
    let named = |flag: &str, patterns: &[String]| -> Result<Option<Vec<&'static str>>, String> {
        let given: Vec<&str> = patterns
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        if given.is_empty() {
            return Ok(None);
        }
        let mut ids = Vec::new();
        for p in given {
            ids.extend(rules::matching(p).map_err(|m| format!("{flag}: {m}"))?);
        }
        Ok(Some(ids))
    };
    let selected = named("--select", select)?;
    let ignored = named("--ignore", ignore)?.unwrap_or_default();
    Ok(rules::ALL
        .iter()
        .copied()
        .filter(|r| {
            let id = r.meta().id;
            selected.as_ref().is_none_or(|s| s.contains(&id)) && !ignored.contains(&id)
        })
        .collect())
}

/// The closest rule ID to an unknown one, if any is close.
pub fn suggest(unknown: &str) -> Option<&'static str> {
    closest(
        &unknown.to_ascii_uppercase(),
        rules::ALL.iter().map(|r| r.meta().id),
    )
}

/// The candidate within two edits of `word`, or that `word` abbreviates (three letters
/// or more), compared case-insensitively; the nearest if several.
pub fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let word = word.to_ascii_lowercase();
    candidates
        .map(|c| {
            let candidate = c.to_ascii_lowercase();
            let distance = if word.len() >= 3 && candidate.starts_with(&word) {
                1
            } else {
                edit_distance(&word, &candidate)
            };
            (distance, c)
        })
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A run's inputs, read and checked: the config, the date, the files and the options.
struct Prepared {
    config_format: Option<Format>,
    config_fail_on: Option<FailOn>,
    as_of: Date,
    rules: Vec<&'static dyn rules::Rule>,
    found: discover::Discovered,
    options: LintOptions,
    threads: usize,
}

/// Reads the config, finds the files and sets up the options `check` and `inventory`
/// share; `select` and `ignore` come from the command line (empty: the config's).
fn prepare(
    input: &cli::InputArgs,
    select: &[String],
    ignore: &[String],
    stderr: &mut dyn Write,
) -> Result<Prepared, String> {
    let config = match (&input.config, input.no_config) {
        (Some(path), _) => config::Config::load(path)?,
        (None, true) => config::Config::empty(),
        (None, false) => config::Config::discover(Path::new("."))?,
    };
    // Command-line flags win over the config file, each on its own.
    let as_of = match (&input.as_of, config.as_of) {
        (Some(given), _) => as_of(Some(given))?,
        (None, Some(configured)) => configured,
        (None, None) => Date::today(),
    };
    let select = pick(select, config.select.as_deref());
    let ignore = pick(ignore, config.ignore.as_deref());
    let rules = config::without_off(select_rules(select, ignore)?, &config);
    if input.jobs == Some(0) {
        return Err("--jobs must be at least 1".to_owned());
    }
    let mut found = discover::discover(&input.paths);
    found.files.retain(|f| !config.excludes(f));
    let mut rule_options = RuleOptions::new(as_of);
    rule_options.apim_backup_storage = config.apim_backup_storage.clone();
    let mut options = LintOptions::new(rules.clone(), rule_options);
    let (parameters, unusable) = parameters_map(&input.parameters, &input.paths)?;
    options.parameters = parameters;
    found.errors.extend(unusable);
    found
        .errors
        .extend(unmatched_parameters(&options.parameters, &found.files));
    if found.bicepparam && !input.quiet {
        let _ = writeln!(
            stderr,
            "trustlint: note: `.bicepparam` files are not read; compile them with `bicep build-params` and pass the JSON with `--parameters`"
        );
    }
    let (config_format, config_fail_on) = (config.format, config.fail_on);
    options.config = config;
    options.walked = std::mem::take(&mut found.walked);
    options.run_files = linter::run_files(&found.files);
    // More threads than files (or than anyone has cores) only costs start-up time.
    let threads = input
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, MAX_JOBS)
        .min(found.files.len().max(1));
    Ok(Prepared {
        config_format,
        config_fail_on,
        as_of,
        rules,
        found,
        options,
        threads,
    })
}

/// Lints every file of the run in parallel, then connects the estate: the reports, and
/// every caller→target edge.
fn lint_estate(prepared: &Prepared) -> Result<(Vec<FileReport>, estate::Connected), String> {
    let threads = prepared.threads;
    let mut files = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))?
        .install(|| linter::lint_files(&prepared.found.files, &prepared.options));
    let connected = estate::connect(&mut files, &prepared.options);
    Ok((files, connected))
}

/// Says on stderr what could not be read, skipped files (unless `quiet`), and unusable
/// parameters files; returns whether trustlint could not do its whole job (exit 2).
fn report_problems(
    found: &discover::Discovered,
    files: &[FileReport],
    quiet: bool,
    stderr: &mut dyn Write,
) -> bool {
    for e in &found.errors {
        let _ = writeln!(
            stderr,
            "trustlint: error: {}: {}",
            report::display_path(&e.path),
            e.message
        );
    }
    for f in files {
        if let Some(e) = &f.parameters_error {
            let _ = writeln!(
                stderr,
                "trustlint: error: {}: {e}",
                report::display_path(&f.path)
            );
        }
        match &f.outcome {
            FileOutcome::Unreadable(why) => {
                let _ = writeln!(
                    stderr,
                    "trustlint: error: {}: {why}",
                    report::display_path(&f.path)
                );
            }
            FileOutcome::Skipped(why) if !quiet => {
                let _ = writeln!(
                    stderr,
                    "trustlint: note: {}: {why}",
                    report::display_path(&f.path)
                );
            }
            _ => {}
        }
    }
    !found.errors.is_empty()
        || files.iter().any(|f| {
            matches!(f.outcome, FileOutcome::Unreadable(_)) || f.parameters_error.is_some()
        })
}

fn check(args: CheckArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
    let started = Instant::now();
    if args.annotations && args.output.is_none() {
        return Err(
            "--annotations prints to standard output: write the report to a file with --output"
                .to_owned(),
        );
    }
    let prepared = prepare(&args.input, &args.select, &args.ignore, stderr)?;
    let format = args
        .format
        .or(prepared.config_format)
        .unwrap_or(Format::Human);
    let fail_on = args
        .fail_on
        .or(prepared.config_fail_on)
        .unwrap_or(FailOn::Warning);
    let baseline = args
        .baseline
        .as_deref()
        .filter(|_| args.write_baseline.is_none())
        .map(baseline::Baseline::load)
        .transpose()?;
    let (mut files, _) = lint_estate(&prepared)?;
    linter::drop_facts(&mut files);
    let Prepared {
        as_of,
        rules,
        found,
        options,
        ..
    } = prepared;

    if let Some(path) = &args.write_baseline {
        let (n, recorded) = baseline::write(path, &files, write_atomically)?;
        let _ = writeln!(
            stderr,
            "trustlint: wrote {n} finding{} to the baseline {}",
            if n == 1 { "" } else { "s" },
            report::display_path(path)
        );
        recorded.mark(&mut files);
    } else if let Some(baseline) = baseline {
        baseline.mark(&mut files);
    }

    let could_not_run = report_problems(&found, &files, args.input.quiet, stderr);

    let run = report::Run {
        files: &files,
        path_errors: &found.errors,
        rules: &rules,
        as_of,
        configured_levels: &options.config.levels,
        elapsed: started.elapsed(),
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let text = match format {
        Format::Human => {
            let color = to_terminal && !args.no_color && std::env::var_os("NO_COLOR").is_none();
            let style = report::human::Style {
                color,
                width: 100,
                quiet: args.input.quiet,
            };
            report::human::render(&run, style)
        }
        Format::Sarif => report::sarif::render(&run),
        Format::Json => report::json::render(&run),
        Format::Github => report::github::render(&run),
    };
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => write_report(stdout, text.as_bytes())?,
    }
    // The GitHub Action writes SARIF to a file and annotates the run from the same run.
    if args.annotations {
        write_report(stdout, report::github::render(&run).as_bytes())?;
    }

    let threshold = match fail_on {
        FailOn::Error => Some(Level::Error),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Note => Some(Level::Note),
        FailOn::Never => None,
    };
    let failing = threshold.is_some_and(|t| {
        files
            .iter()
            .flat_map(|f| &f.diagnostics)
            .any(|d| d.counts() && d.level >= t)
    });
    Ok(if could_not_run {
        exit::FAILURE
    } else if failing {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// `trustlint inventory`: the worksheet of every dependency on trusted-service
/// connectivity. Exit 0, or 2 when a path could not be read (the rest is still listed).
fn inventory(
    args: cli::InventoryArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, String> {
    let mut prepared = prepare(&args.input, &[], &[], stderr)?;
    // Every row, whatever the config's rule selection: the worksheet is not a report.
    prepared.options.rules = rules::ALL.to_vec();
    prepared.options.for_inventory = true;
    let (files, connected) = lint_estate(&prepared)?;
    let could_not_run = report_problems(&prepared.found, &files, args.input.quiet, stderr);
    let rows = inventory::rows(&files, &connected);
    let text = match args.format {
        cli::InventoryFormat::Human => inventory::render_human(&rows),
        cli::InventoryFormat::Csv => inventory::render_csv(&rows),
        cli::InventoryFormat::Json => inventory::render_json(&rows),
    };
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => write_report(stdout, text.as_bytes())?,
    }
    Ok(match could_not_run {
        true => exit::FAILURE,
        false => exit::CLEAN,
    })
}

/// The command line's list when it gives one, else the config file's.
fn pick<'a>(given: &'a [String], configured: Option<&'a [String]>) -> &'a [String] {
    if given.iter().any(|p| !p.trim().is_empty()) {
        given
    } else {
        configured.unwrap_or(&[])
    }
}

/// `--jobs` above this is clamped: thread start-up is not free, and no machine this runs
/// on has more cores.
const MAX_JOBS: usize = 256;

/// Worker threads get a generous stack: evaluation may nest
/// [`template::expr::eval::MAX_DEPTH`] levels, which needs about 40 MiB in a debug build.
pub const WORKER_STACK_BYTES: usize = 64 << 20;

/// Runs `work` on a thread with the workers' stack (evaluation may nest
/// [`template::expr::eval::MAX_DEPTH`] levels deep).
fn on_big_stack<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK_BYTES)
        .spawn(work)
        .map_err(|e| format!("cannot start a thread: {e}"))?
        .join()
        .unwrap_or_else(|_| Err("internal error, please report it".to_owned()))
}

/// Writes the report to standard output. A closed pipe (`trustlint … | head`) is not an
/// error: the reader has what it wanted, and the exit code still tells the findings.
fn write_report(stdout: &mut dyn Write, bytes: &[u8]) -> Result<(), String> {
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report: {e}"))
        }
        _ => Ok(()),
    }
}

/// Parameters files by the resolved path of their template.
type ParametersMap = std::collections::HashMap<std::path::PathBuf, std::path::PathBuf>;

/// Resolves `--parameters`: `TEMPLATE=PARAMS` pairs, or a bare `PARAMS` when exactly
/// one template file is given. Templates are keyed by their resolved path, so
/// `./a/t.json`, `a/t.json` and an absolute path name one file. A parameters file that
/// does not exist is an error of the run (exit 2, reported like an unreadable path);
/// a bare `PARAMS` with several paths is a usage error.
fn parameters_map(
    given: &[String],
    paths: &[std::path::PathBuf],
) -> Result<(ParametersMap, Vec<discover::PathError>), String> {
    let mut map = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for g in given {
        let (template, params) = match g.split_once('=') {
            Some((t, p)) => (std::path::PathBuf::from(t), std::path::PathBuf::from(p)),
            None => match paths {
                [single] if single.is_file() => (single.clone(), std::path::PathBuf::from(g)),
                _ => {
                    return Err(format!(
                        "--parameters {g}: with several paths or a directory, say which template it is for: --parameters TEMPLATE={g}"
                    ))
                }
            },
        };
        if !params.is_file() {
            errors.push(discover::PathError {
                message: "--parameters names this file, which is not a regular file that exists"
                    .to_owned(),
                path: params,
            });
            continue;
        }
        map.insert(linter::resolved(&template), params);
    }
    Ok((map, errors))
}

/// `--parameters TEMPLATE=…` entries whose template is not among the linted files: the
/// values would silently go unused, so each is an error.
fn unmatched_parameters(
    parameters: &ParametersMap,
    files: &[std::path::PathBuf],
) -> Vec<discover::PathError> {
    if parameters.is_empty() {
        return Vec::new();
    }
    let linted: std::collections::HashSet<std::path::PathBuf> =
        files.iter().map(|f| linter::resolved(f)).collect();
    let mut unmatched: Vec<discover::PathError> = parameters
        .iter()
        .filter(|(template, _)| !linted.contains(*template))
        .map(|(template, params)| discover::PathError {
            path: template.clone(),
            message: format!(
                "--parameters names this template for {}, but it is not among the files linted",
                report::display_path(params)
            ),
        })
        .collect();
    unmatched.sort_by(|a, b| a.path.cmp(&b.path));
    unmatched
}

/// Writes the report through a temporary file in the same directory and a rename, so a
/// reader never sees half a report. A symlink is followed (its target is replaced, the
/// link stays); a target that is not a regular file (`/dev/stdout`, a FIFO) is written
/// directly, never replaced.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A device, FIFO or pipe (`/dev/stdout` is a symlink to one): write to it.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
        return out.write_all(bytes).and_then(|()| out.flush());
    }
    let target = match std::fs::canonicalize(path) {
        Ok(resolved) => resolved,
        // A dangling symlink: write where it points.
        Err(_) => match std::fs::read_link(path) {
            Ok(link) => path.parent().unwrap_or(Path::new("")).join(link),
            Err(_) => path.to_path_buf(),
        },
    };
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `create_new`: never write through a file (or symlink) already at that name; a
    // name left by a killed run (containers reuse process IDs) is skipped, not fatal.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut attempt = 0;
    let (tmp, mut out) = loop {
        let tmp = dir.join(format!(
            ".{name}.trustlint-{}-{nonce}-{attempt}.tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(out) => break (tmp, out),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        out.write_all(bytes)?;
        if let Ok(existing) = std::fs::metadata(&target) {
            out.set_permissions(existing.permissions())?;
        }
        out.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn list_rules(args: RulesArgs, stdout: &mut dyn Write) -> Result<u8, String> {
    let as_of = as_of(args.as_of.as_deref())?;
    let text = match args.format {
        RulesFormat::Human => {
            let mut t = String::new();
            let name_width = rules::ALL.iter().map(|r| r.meta().name.len()).max();
            for r in rules::ALL {
                let m = r.meta();
                t.push_str(&format!(
                    "{:<8} {:<name_width$} {:<7} {}\n",
                    m.id,
                    m.name,
                    r.level_on(as_of).to_string(),
                    m.summary,
                    name_width = name_width.unwrap_or(0)
                ));
            }
            t
        }
        RulesFormat::Json => {
            let list: Vec<serde_json::Value> = rules::ALL
                .iter()
                .map(|r| {
                    let m = r.meta();
                    serde_json::json!({
                        "id": m.id,
                        "name": m.name,
                        "level": r.level_on(as_of).as_str(),
                        "summary": m.summary,
                        "url": report::rule_url(m.id),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
        }
    };
    write_report(stdout, text.as_bytes())?;
    Ok(exit::CLEAN)
}

fn show_rule(id: &str, stdout: &mut dyn Write) -> Result<u8, String> {
    let rule = rules::find(id).ok_or_else(|| {
        let hint = suggest(id)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        format!("unknown rule `{id}`{hint} (see `trustlint rules`)")
    })?;
    write_report(stdout, rule.meta().docs.as_bytes())?;
    Ok(exit::CLEAN)
}
