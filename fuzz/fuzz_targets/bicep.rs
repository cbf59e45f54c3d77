//! The Bicep scanner on arbitrary text: declarations, property paths, nested
//! resources, object entries, referenced files and comment suppressions never panic,
//! and every span they return lies on character boundaries of the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustlint::bicep;
use trustlint::source::Span;

fn check(text: &str, span: Span) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start <= end && end <= text.len(), "{span:?} outside the text");
    assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
}

fuzz_target!(|text: &str| {
    let references = bicep::references(text);
    for path in references.modules.iter().chain(&references.imports) {
        assert!(text.contains(path), "a referenced path is a slice of the text");
    }
    for s in bicep::comment_suppressions(text) {
        check(text, s.span);
        if let Some(scope) = s.scope {
            check(text, scope);
        }
    }
    for d in bicep::declarations(text) {
        check(text, d.span);
        let Some(body) = d.body else {
            continue;
        };
        check(text, body);
        let (found, _) = bicep::deepest_written(text, body, &["properties", "networkAcls"]);
        check(text, found);
        if let Some(at) = bicep::unique_key_value(text, body, "bypass") {
            check(text, at);
        }
        for at in bicep::key_values(text, body, "bypass") {
            check(text, at);
        }
        for (_, value) in bicep::entries(text, body) {
            check(text, value);
        }
        if let Some(child) = bicep::nested_resource(text, body, "child") {
            check(text, child.span);
            if let Some(b) = child.body {
                check(text, b);
            }
        }
    }
});
