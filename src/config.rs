//! The config file, `trustlint.toml`: found by walking up from the current directory
//! (or given with `--config`), checked strictly (unknown keys and rule IDs are errors
//! with a suggestion), and overridden by command-line flags. See docs/configuration.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::cli::{FailOn, Format};
use crate::date::Date;
use crate::diagnostic::{Diagnostic, Level, RuleLevel};
use crate::paths::{absolute, current_dir};
use crate::rules::{self, Rule};
use crate::source::{Encoding, SourceFile};

/// The file name looked for in the current directory and its ancestors.
pub const FILE_NAME: &str = "trustlint.toml";

const TOP_LEVEL_KEYS: &[&str] = &[
    "select",
    "ignore",
    "exclude",
    "fail-on",
    "format",
    "as-of",
    "apim-backup-storage",
    "level",
    "suppress",
    "estate",
];
const ESTATE_KEYS: &[&str] = &["trusted-bypass-targets", "open-targets"];
const SUPPRESS_KEYS: &[&str] = &["rules", "files", "resources", "reason"];
const LEVELS: &[&str] = &["error", "warning", "note", "off"];

/// A `[[suppress]]` entry: findings of these rules, in these files, on these resources.
#[derive(Debug)]
pub struct ConfigSuppression {
    pub rules: Vec<&'static str>,
    /// File globs, relative to the config file's directory; `None` means every file.
    pub files: Option<GlobSet>,
    /// Resource name globs (case-insensitive); `None` means every resource.
    pub resources: Option<GlobSet>,
    pub reason: String,
}

impl ConfigSuppression {
    /// Does it cover `diagnostic`, found in the file at `relative_path`?
    pub fn covers(&self, relative_path: &str, diagnostic: &Diagnostic) -> bool {
        self.rules.contains(&diagnostic.rule)
            && self
                .files
                .as_ref()
                .is_none_or(|g| g.is_match(relative_path))
            && self.resources.as_ref().is_none_or(|g| {
                diagnostic.resource.as_ref().is_some_and(|r| {
                    g.is_match(&r.name) || g.is_match(r.name.rsplit('/').next().unwrap_or(""))
                })
            })
    }
}

/// The settings of a config file. Every field is optional in the file.
#[derive(Debug, Default)]
pub struct Config {
    /// The directory that `exclude` and `files` globs are relative to: the config
    /// file's directory, else the current directory. Absolute.
    pub root: PathBuf,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub exclude: Option<GlobSet>,
    pub fail_on: Option<FailOn>,
    pub format: Option<Format>,
    pub as_of: Option<Date>,
    /// Storage account names API Management backs up to and restores from.
    pub apim_backup_storage: Vec<String>,
    pub levels: HashMap<&'static str, RuleLevel>,
    pub suppress: Vec<ConfigSuppression>,
    /// `[estate]`: targets kept outside the run.
    pub estate: EstateTargets,
}

/// `[estate]`: targets that callers in the run reach but no linted file deploys, by
/// name (untyped, compared case-insensitively).
#[derive(Debug, Default, Clone)]
pub struct EstateTargets {
    /// Locked down and admitting trusted Microsoft services.
    pub trusted_bypass: Vec<String>,
    /// Not locked down.
    pub open: Vec<String>,
}

impl Config {
    /// No config file: defaults, globs relative to the current directory.
    pub fn empty() -> Config {
        Config {
            root: current_dir(),
            ..Config::default()
        }
    }

    /// The nearest `trustlint.toml` in `start` or its ancestors, loaded; or no config.
    pub fn discover(start: &Path) -> Result<Config, String> {
        let start = absolute(start);
        match start
            .ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|p| p.is_file())
        {
            Some(path) => Config::load(&path),
            None => Ok(Config::empty()),
        }
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = crate::source::read_bounded_text(path)
            .map_err(|e| format!("config file {}: {e}", path.display()))?;
        let mut config = parse(&text).map_err(|(span, message)| {
            let (line, column) = position(&text, span.start);
            format!("{}:{line}:{column}: {message}", path.display())
        })?;
        config.root = absolute(path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(config)
    }

    /// `path` relative to [`Config::root`] with forward slashes, as globs see it; the
    /// path as given when it is outside the root.
    pub fn relative(&self, path: &Path) -> String {
        let absolute = absolute(path);
        match absolute.strip_prefix(&self.root) {
            Ok(inside) => crate::paths::display_path(inside),
            Err(_) => crate::paths::display_path(path),
        }
    }

    /// Is the file excluded by the `exclude` globs?
    pub fn excludes(&self, path: &Path) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|g| g.is_match(self.relative(path)))
    }

    /// The level the config sets for a rule: an exact ID wins over the longest prefix.
    pub fn level_of(&self, id: &str) -> Option<RuleLevel> {
        self.levels.get(id).copied()
    }
}

type Failure = (std::ops::Range<usize>, String);

fn parse(text: &str) -> Result<Config, Failure> {
    let table = DeTable::parse(text).map_err(|e| {
        (
            e.span().unwrap_or(0..0),
            format!("not valid TOML: {}", e.message()),
        )
    })?;
    let mut config = Config::default();
    let mut level_entries: Vec<(String, std::ops::Range<usize>, RuleLevel)> = Vec::new();
    for (key, value) in table.get_ref() {
        let name = key.get_ref().as_ref();
        let span = key.span();
        match name {
            "select" => config.select = Some(rule_patterns(value, name)?),
            "ignore" => config.ignore = Some(rule_patterns(value, name)?),
            "exclude" => config.exclude = Some(globs(value, name, false)?),
            "fail-on" => {
                config.fail_on = Some(choice::<FailOn>(value, name)?);
            }
            "format" => config.format = Some(choice::<Format>(value, name)?),
            "as-of" => config.as_of = Some(date(value)?),
            "apim-backup-storage" => config.apim_backup_storage = strings(value, name)?,
            "level" => level_entries = levels(value)?,
            "suppress" => config.suppress = suppressions(value)?,
            "estate" => config.estate = estate(value)?,
            _ => return Err((span, unknown_key(name, TOP_LEVEL_KEYS, ""))),
        }
    }
    // Prefixes first, so that exact IDs (longer) win over them.
    level_entries.sort_by_key(|(pattern, _, _)| pattern.len());
    for (pattern, span, level) in level_entries {
        let matched = rules::matching(&pattern).map_err(|m| (span.clone(), m))?;
        for id in matched {
            config.levels.insert(id, level);
        }
    }
    Ok(config)
}

/// `[estate]`: `trusted-bypass-targets` and `open-targets`, names only; a name in
/// both lists is an error at its second mention.
fn estate(value: &Spanned<DeValue<'_>>) -> Result<EstateTargets, Failure> {
    let mut targets = EstateTargets::default();
    let mut seen: HashMap<String, &'static str> = HashMap::new();
    // In file order, so that the error is at the second mention.
    let mut entries: Vec<_> = table(value, "estate")?.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, list) in entries {
        let name = key.get_ref().as_ref();
        let (key_name, into) = match name {
            "trusted-bypass-targets" => (ESTATE_KEYS[0], &mut targets.trusted_bypass),
            "open-targets" => (ESTATE_KEYS[1], &mut targets.open),
            _ => return Err((key.span(), unknown_key(name, ESTATE_KEYS, " in `[estate]`"))),
        };
        for (target, span) in string_list(list, name)? {
            let target = target.trim();
            if target.is_empty() {
                return Err((span, format!("`{key_name}`: a target name cannot be empty")));
            }
            let lower = target.to_ascii_lowercase();
            match seen.get(&lower) {
                Some(other) if *other != key_name => {
                    return Err((
                        span,
                        format!("`{target}` is in both `{other}` and `{key_name}`: a target is either locked down with the trusted bypass or open"),
                    ))
                }
                _ => {
                    seen.insert(lower.clone(), key_name);
                    into.push(lower);
                }
            }
        }
    }
    Ok(targets)
}

fn unknown_key(name: &str, known: &[&str], context: &str) -> String {
    let hint = crate::closest(name, known.iter().copied())
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{name}`{context}{hint} (known keys: {})",
        known.join(", ")
    )
}

fn string<'v>(value: &'v Spanned<DeValue<'_>>, key: &str) -> Result<&'v str, Failure> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        _ => Err((value.span(), format!("`{key}` must be a string"))),
    }
}

/// A string or a list of strings, with each one's span.
fn string_list<'v>(
    value: &'v Spanned<DeValue<'_>>,
    key: &str,
) -> Result<Vec<(&'v str, std::ops::Range<usize>)>, Failure> {
    match value.get_ref() {
        DeValue::String(s) => Ok(vec![(s.as_ref(), value.span())]),
        DeValue::Array(items) => items
            .iter()
            .map(|item| string(item, key).map(|s| (s, item.span())))
            .collect(),
        _ => Err((
            value.span(),
            format!("`{key}` must be a list of strings, e.g. {key} = [\"…\"]"),
        )),
    }
}

fn strings(value: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, Failure> {
    Ok(string_list(value, key)?
        .into_iter()
        .map(|(s, _)| s.to_owned())
        .collect())
}

/// Rule IDs or prefixes, each checked against the registry.
fn rule_patterns(value: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, Failure> {
    string_list(value, key)?
        .into_iter()
        .map(|(pattern, span)| {
            rules::matching(pattern.trim())
                .map(|_| pattern.trim().to_owned())
                .map_err(|m| (span, format!("`{key}`: {m}")))
        })
        .collect()
}

fn choice<T: ValueEnum>(value: &Spanned<DeValue<'_>>, key: &str) -> Result<T, Failure> {
    let given = string(value, key)?;
    T::from_str(given, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        let hint = crate::closest(given, names.iter().map(String::as_str))
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        (
            value.span(),
            format!(
                "`{key}` cannot be `{given}`{hint} (one of: {})",
                names.join(", ")
            ),
        )
    })
}

/// `as-of = 2026-11-23` (a TOML date) or `as-of = "2026-11-23"`.
fn date(value: &Spanned<DeValue<'_>>) -> Result<Date, Failure> {
    let text = match value.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        _ => String::new(),
    };
    Date::parse(&text).map_err(|e| (value.span(), format!("`as-of`: {e}")))
}

/// Compiles path globs. Like `.gitignore`: a pattern without `/` matches a file or
/// directory name at any depth; a pattern matches everything under a matching directory.
fn globs(value: &Spanned<DeValue<'_>>, key: &str, names: bool) -> Result<GlobSet, Failure> {
    let mut set = GlobSetBuilder::new();
    for (pattern, span) in string_list(value, key)? {
        let expanded: Vec<String> = if names {
            vec![pattern.to_owned()]
        } else {
            let p = pattern.trim_start_matches("./").trim_start_matches('/');
            let p = p.trim_end_matches('/');
            let anchored = if pattern.trim_end_matches('/').contains('/') {
                p.to_owned()
            } else {
                format!("**/{p}")
            };
            vec![anchored.clone(), format!("{anchored}/**")]
        };
        for glob in expanded {
            let compiled = GlobBuilder::new(&glob)
                .literal_separator(!names)
                .case_insensitive(names)
                .backslash_escape(true)
                .build()
                .map_err(|e| (span.clone(), format!("`{key}`: bad glob `{pattern}`: {e}")))?;
            set.add(compiled);
        }
    }
    set.build()
        .map_err(|e| (value.span(), format!("`{key}`: {e}")))
}

fn table<'v, 'i>(value: &'v Spanned<DeValue<'i>>, what: &str) -> Result<&'v DeTable<'i>, Failure> {
    match value.get_ref() {
        DeValue::Table(t) => Ok(t),
        _ => Err((value.span(), format!("`{what}` must be a table"))),
    }
}

/// `[level]`: `ID-or-prefix = "error" | "warning" | "note" | "off"`.
fn levels(
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<(String, std::ops::Range<usize>, RuleLevel)>, Failure> {
    let mut out = Vec::new();
    for (key, level) in table(value, "level")? {
        let id = key.get_ref().as_ref();
        rules::matching(id).map_err(|m| (key.span(), format!("`[level]`: {m}")))?;
        let given = string(level, id)?;
        let parsed = match given.to_ascii_lowercase().as_str() {
            "error" => RuleLevel::Level(Level::Error),
            "warning" => RuleLevel::Level(Level::Warning),
            "note" => RuleLevel::Level(Level::Note),
            "off" => RuleLevel::Off,
            _ => {
                let hint = crate::closest(given, LEVELS.iter().copied())
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err((
                    level.span(),
                    format!(
                        "`[level]` {id} cannot be `{given}`{hint} (one of: {})",
                        LEVELS.join(", ")
                    ),
                ));
            }
        };
        out.push((id.to_owned(), key.span(), parsed));
    }
    Ok(out)
}

/// `[[suppress]]` entries.
fn suppressions(value: &Spanned<DeValue<'_>>) -> Result<Vec<ConfigSuppression>, Failure> {
    let DeValue::Array(entries) = value.get_ref() else {
        return Err((
            value.span(),
            "`suppress` must be an array of tables: write each entry as [[suppress]]".to_owned(),
        ));
    };
    let mut out = Vec::new();
    for entry in entries {
        let mut rules_named = Vec::new();
        let mut files = None;
        let mut resources = None;
        let mut reason = None;
        for (key, value) in table(entry, "suppress")? {
            match key.get_ref().as_ref() {
                "rules" => {
                    for (pattern, span) in string_list(value, "rules")? {
                        let ids = rules::matching(pattern.trim())
                            .map_err(|m| (span, format!("`[[suppress]]` rules: {m}")))?;
                        rules_named.extend(ids);
                    }
                }
                "files" => files = Some(globs(value, "files", false)?),
                "resources" => resources = Some(globs(value, "resources", true)?),
                "reason" => {
                    reason =
                        Some(string(value, "reason")?.trim().to_owned()).filter(|r| !r.is_empty())
                }
                other => {
                    return Err((
                        key.span(),
                        unknown_key(other, SUPPRESS_KEYS, " in [[suppress]]"),
                    ))
                }
            }
        }
        if rules_named.is_empty() {
            return Err((
                entry.span(),
                "a [[suppress]] entry needs `rules`: the rule IDs it suppresses".to_owned(),
            ));
        }
        let Some(reason) = reason else {
            return Err((
                entry.span(),
                "a [[suppress]] entry needs a `reason`: say why the findings are safe to ignore"
                    .to_owned(),
            ));
        };
        out.push(ConfigSuppression {
            rules: rules_named,
            files,
            resources,
            reason,
        });
    }
    Ok(out)
}

/// 1-based line and code-point column of a byte offset, as diagnostics count them.
fn position(text: &str, offset: usize) -> (usize, usize) {
    SourceFile::from_text(PathBuf::new(), text.to_owned(), Encoding::Utf8).line_col(offset)
}

/// The rules a run uses after `select`, `ignore` and levels set to `off`.
pub fn without_off(rules: Vec<&'static dyn Rule>, config: &Config) -> Vec<&'static dyn Rule> {
    rules
        .into_iter()
        .filter(|r| config.level_of(r.meta().id) != Some(RuleLevel::Off))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let (span, message) = parse(text).unwrap_err();
        let (line, column) = position(text, span.start);
        format!("{line}:{column}: {message}")
    }

    #[test]
    fn a_complete_file_parses() {
        let c = parse(
            r#"
select = ["APIM", "STG001"]
ignore = "EXPR001"
exclude = ["legacy/", "*.parameters.json"]
fail-on = "error"
format = "sarif"
as-of = 2026-11-23
apim-backup-storage = ["stbackup"]

[level]
APIM = "error"
APIM001 = "note"
ACR001 = "off"

[[suppress]]
rules = ["STG001"]
files = ["infra/shared/**"]
resources = ["st*"]
reason = "backup storage"
"#,
        )
        .unwrap();
        assert_eq!(c.select.as_deref().unwrap(), ["APIM", "STG001"]);
        assert_eq!(c.fail_on, Some(FailOn::Error));
        assert_eq!(c.as_of, Some(Date::new(2026, 11, 23)));
        assert_eq!(c.level_of("APIM001"), Some(RuleLevel::Level(Level::Note)));
        assert_eq!(c.level_of("APIM002"), Some(RuleLevel::Level(Level::Error)));
        assert_eq!(c.level_of("ACR001"), Some(RuleLevel::Off));
        let exclude = c.exclude.as_ref().unwrap();
        assert!(exclude.is_match("legacy/a/b.json"));
        assert!(exclude.is_match("x/legacy/b.json"));
        assert!(exclude.is_match("x/main.parameters.json"));
        assert!(!exclude.is_match("x/main.json"));
        assert!(c.suppress[0]
            .files
            .as_ref()
            .unwrap()
            .is_match("infra/shared/a.json"));
        assert!(c.suppress[0]
            .resources
            .as_ref()
            .unwrap()
            .is_match("STBackup"));
    }

    #[test]
    fn unknown_keys_and_ids_suggest() {
        assert!(
            error_of("selct = []").starts_with("1:1: unknown key `selct`; did you mean `select`?"),
            "{}",
            error_of("selct = []")
        );
        assert_eq!(
            error_of("\nselect = [\"STG01\"]"),
            "2:11: `select`: no rule matches `STG01`; did you mean `STG001`? (see `trustlint rules`)"
        );
        assert_eq!(
            error_of("[level]\nKV001 = \"warn\""),
            "2:9: `[level]` KV001 cannot be `warn`; did you mean `warning`? (one of: error, warning, note, off)"
        );
        assert!(error_of("fail-on = \"eror\"").contains("did you mean `error`?"));
        assert!(error_of("[[suppress]]\nrules = [\"STG001\"]").contains("needs a `reason`"));
        assert!(error_of("[[suppress]]\nrule = \"STG001\"").contains("did you mean `rules`?"));
        assert!(error_of("as-of = \"2026-13-01\"").contains("YYYY-MM-DD"));
        assert!(error_of("select = [").starts_with("1:"));
    }

    #[test]
    fn estate_targets_are_names_in_one_list_each() {
        let c = parse("[estate]\ntrusted-bypass-targets = [\"KV-Ops\", \"stshared\"]\nopen-targets = \"stpublic\"").unwrap();
        assert_eq!(c.estate.trusted_bypass, ["kv-ops", "stshared"]);
        assert_eq!(c.estate.open, ["stpublic"]);
        assert_eq!(
            error_of("[estate]\ntrusted-bypass-targets = [\"kv\"]\nopen-targets = [\"KV\"]"),
            "3:17: `KV` is in both `trusted-bypass-targets` and `open-targets`: a target is either locked down with the trusted bypass or open"
        );
        assert!(error_of("[estate]\nopen-target = []").starts_with(
            "2:1: unknown key `open-target` in `[estate]`; did you mean `open-targets`?"
        ));
        assert!(error_of("[estate]\nopen-targets = [\" \"]").contains("cannot be empty"));
    }
}
