use std::process::ExitCode;

use clap::Parser;
use trustlint::cli::{with_default_command, Cli};

fn main() -> ExitCode {
    let args = with_default_command(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                trustlint::exit::FAILURE
            } else {
                trustlint::exit::CLEAN
            });
        }
    };
    let code = trustlint::run(
        cli,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
