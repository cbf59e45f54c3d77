//! The JSONC reader on arbitrary text: decoding (UTF-8, BOMs, UTF-16) and parsing never
//! panic, and a parse failure always has a span inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(source) = trustlint::source::SourceFile::decode("f.json".into(), bytes) else {
        return;
    };
    let _ = source.nul_error();
    if let Err(failure) = trustlint::parse::parse(&source.text) {
        assert!(failure.span.start as usize <= source.text.len());
        assert!(failure.span.end as usize <= source.text.len());
    }
    // Offsets map to a line and column, and the line's range holds the offset's start.
    let ends = [0, source.text.len() / 2, source.text.len()];
    for offset in ends {
        if source.text.is_char_boundary(offset) {
            let (line, column) = source.line_col(offset);
            assert!(line <= source.line_count());
            let range = source.line_range(line);
            assert!(range.start <= offset && range.end <= source.text.len());
            assert_eq!(column, source.text[range.start..offset].chars().count() + 1);
        }
    }
});
