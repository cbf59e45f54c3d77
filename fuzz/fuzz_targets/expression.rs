//! The expression parser and evaluator on arbitrary strings: the fast validity scan
//! agrees with the parser, and parsing and evaluating never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|text: &str| {
    let expression = format!("[{text}]");
    let parsed = trustlint::template::expr::parse::parse_template_string(&expression).is_ok();
    let checked = trustlint::template::expr::parse::check_expression(&expression).is_ok();
    assert_eq!(
        parsed, checked,
        "check and parse disagree on {expression:?}"
    );
    common::on_big_stack(move || {
        trustlint::template::expr::eval::evaluate_alone(&expression);
    });
});
