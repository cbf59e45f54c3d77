//! The evaluator over arbitrary templates: build the model and evaluate every deployed
//! resource completely (what `trustlint expand` prints), within the budgets.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|text: &str| {
    let text = text.to_owned();
    common::on_big_stack(move || {
        let Ok(Some(root)) = trustlint::parse::parse(&text) else {
            return;
        };
        let jsonc_parser::ast::Value::Object(obj) = &root else {
            return;
        };
        let template = trustlint::template::Template::build(obj, Default::default());
        for resource in &template.resources {
            let _ = resource.display_name();
            let _ = resource.literal_name();
            let _ = resource.value.value().to_json();
        }
    });
});
