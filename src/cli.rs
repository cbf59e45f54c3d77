//! Command-line arguments (clap derive). `trustlint PATH …` means `trustlint check PATH …`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "trustlint",
    version,
    about = "Find Azure ARM templates and Bicep files that rely on the retiring \"trusted Microsoft services\" firewall bypass",
    long_about = "trustlint lints Azure ARM templates and Bicep files offline (a .bicep through the X.json Bicep compiled \
beside it, or the Bicep CLI on PATH; findings are reported at the .bicep line). It finds \
API Management gateways and Data Factories that rely on trusted Microsoft services connectivity, which API \
Management retired on 2026-03-15 and Data Factory retires in stages until 2027-08-01, and the Storage, Key \
Vault, Managed HSM, Service Bus, Event Hubs and Container Registry resources set up so that such callers break.\n\n\
`trustlint PATH...` is short for `trustlint check PATH...`.",
    after_help = "Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 trustlint could not do its job (bad arguments, missing or unreadable paths)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint files and directories (the default command)
    Check(CheckArgs),
    /// List every rule: ID, name, level and summary
    Rules(RulesArgs),
    /// Print a rule's documentation
    Rule {
        /// The rule ID, e.g. STG001
        id: String,
    },
    /// The migration worksheet: every dependency on trusted-service connectivity in the
    /// estate — caller, target, the target's firewall, line of sight, verdict
    Inventory(InventoryArgs),
    /// Print the template as Azure would deploy it (JSON): every resource with its
    /// evaluated name and properties; unknown values as {"$unknown": "reason"}
    Expand {
        /// The deployment template
        template: PathBuf,
        /// The deployment parameters file (default: TEMPLATE's sibling X.parameters.json, if any)
        #[arg(long, value_name = "FILE")]
        parameters: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Sarif,
    Json,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format [default: human, or `format` in the config file]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Run only these rules (comma-separated IDs or prefixes such as APIM)
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub select: Vec<String>,

    /// Skip these rules (comma-separated IDs or prefixes)
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub ignore: Vec<String>,

    /// Lowest level that makes the exit code 1 [default: warning, or `fail-on` in the config file]
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,

    /// Report only findings that are not in this baseline file (see --write-baseline)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the current findings in FILE, so that later runs with --baseline FILE
    /// report only new ones; the findings recorded do not fail this run
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Never use colour
    #[arg(long)]
    pub no_color: bool,

    /// Also print every finding as a GitHub Actions workflow command (annotations) on
    /// standard output; needs --output for the report itself
    #[arg(long)]
    pub annotations: bool,
}

/// What to lint and with what: the inputs `check` and `inventory` share.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files and directories to lint; directories are searched for *.json, *.jsonc and *.bicep
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Evaluate a template with this deployment parameters file: `TEMPLATE=PARAMS`, or just
    /// `PARAMS` when a single template is given (repeatable). Without it, `X.parameters.json`
    /// next to `X.json` is used when it exists
    #[arg(long, value_name = "FILE")]
    pub parameters: Vec<String>,

    /// Worker threads (default: all cores; clamped to 256 and to the number of files)
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Compute date-aware levels and messages as of this date (YYYY-MM-DD; default: `as-of`
    /// in the config file, else today)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// The config file [default: the nearest trustlint.toml in the current directory or above]
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Use no config file, even if a trustlint.toml is found
    #[arg(long)]
    pub no_config: bool,

    /// Print only the report: no summary line, no notes about skipped files
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = InventoryFormat::Human)]
    pub format: InventoryFormat,

    /// Write the worksheet to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// An aligned table
    Human,
    /// RFC 4180, with a header row
    Csv,
    /// An array of objects (docs/inventory.md)
    Json,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
    pub format: RulesFormat,

    /// Show date-aware levels as of this date (YYYY-MM-DD; default: today)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
}

const SUBCOMMANDS: &[&str] = &["check", "rules", "rule", "inventory", "expand", "help"];

/// Inserts `check` when the first argument is not a subcommand or a top-level flag,
/// so that `trustlint a.json b.json` (as pre-commit calls it) lints those files.
pub fn with_default_command(args: Vec<OsString>) -> Vec<OsString> {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return match args.len() {
            1 => vec![args[0].clone(), "check".into()],
            _ => args,
        };
    };
    let top_level_flag = matches!(first, "-h" | "--help" | "-V" | "--version");
    if SUBCOMMANDS.contains(&first) || top_level_flag {
        return args;
    }
    let mut out = Vec::with_capacity(args.len() + 1);
    out.push(args[0].clone());
    out.push("check".into());
    out.extend(args.into_iter().skip(1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn bare_paths_mean_check() {
        assert_eq!(
            with_default_command(args(&["t", "a.json"])),
            args(&["t", "check", "a.json"])
        );
        assert_eq!(
            with_default_command(args(&["t", "--format", "json"])),
            args(&["t", "check", "--format", "json"])
        );
        assert_eq!(with_default_command(args(&["t"])), args(&["t", "check"]));
        assert_eq!(
            with_default_command(args(&["t", "rules"])),
            args(&["t", "rules"])
        );
        assert_eq!(
            with_default_command(args(&["t", "--help"])),
            args(&["t", "--help"])
        );
        assert_eq!(
            with_default_command(args(&["t", "./rules"])),
            args(&["t", "check", "./rules"])
        );
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
