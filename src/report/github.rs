//! The GitHub format: one workflow command per diagnostic, which Actions turns into
//! annotations on the pull request.

use crate::diagnostic::Level;
use crate::report::{display_path, live_diagnostics, locate, Run};

/// Escapes the message part of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(run: &Run<'_>) -> String {
    let mut out = String::new();
    for (file, source, d) in live_diagnostics(run) {
        let command = match d.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let l = locate(source, d.span);
        let mut props = format!(
            "file={},line={}",
            escape_property(&display_path(&file.path)),
            l.start_line
        );
        if l.start_line == l.end_line {
            props.push_str(&format!(
                ",col={},endLine={},endColumn={}",
                l.start_column, l.end_line, l.end_column
            ));
        } else {
            props.push_str(&format!(",endLine={}", l.end_line));
        }
        props.push_str(&format!(",title={}", escape_property(d.rule)));
        out.push_str(&format!(
            "::{command} {props}::{}\n",
            escape_data(&d.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_syntax() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
