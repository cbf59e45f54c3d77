//! Reading a file's bytes into text, and mapping byte offsets to lines and columns.
//!
//! Offsets everywhere in trustlint are byte offsets into [`SourceFile::text`], the decoded
//! text without its byte-order mark. Reporters add [`SourceFile::bom_len`] back when they
//! print raw file offsets, and compute 1-based lines and code-point columns from the
//! line index only at the edge.

use std::path::PathBuf;
use std::sync::Arc;

/// A byte range in a [`SourceFile`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        // Files are capped well below 4 GiB by the reader, so offsets fit in u32.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// Does the span include byte `offset` (start inclusive, end exclusive)?
    pub fn contains(self, offset: usize) -> bool {
        (self.start as usize) <= offset && offset < self.end as usize
    }

    /// Do the spans share a byte?
    pub fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Does the span include all of `inner`?
    pub fn encloses(self, inner: Span) -> bool {
        self.start <= inner.start && inner.end <= self.end
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// How the file's bytes were encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

/// A decoded file: its path as the user should see it, the text and a line index.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given or discovered, used for display and SARIF URIs.
    pub path: PathBuf,
    /// The decoded text, without byte-order mark. Shared with miette for rendering.
    pub text: Arc<String>,
    pub encoding: Encoding,
    /// Line starts and column checkpoints, built on first use: most files have no
    /// diagnostics and never need them.
    index: std::sync::OnceLock<LineIndex>,
    /// For an [`excerpt`](SourceFile::excerpt): each run of the file it keeps, as
    /// (start in the file, end in the file, start in the text), sorted. Empty for a
    /// whole file.
    runs: Vec<(usize, usize, usize)>,
}

/// Every read is bounded, whatever the file system reports as the size (spans are
/// 32-bit, and nobody deploys a larger template).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads a regular file, at most [`MAX_FILE_BYTES`]. FIFOs, devices and sockets are
/// refused: the file is opened without blocking (opening a FIFO otherwise waits for a
/// writer) and checked before a byte is read (`/dev/zero` never ends).
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let capacity = meta.len().min(MAX_FILE_BYTES) as usize;
    let mut bytes = Vec::with_capacity(capacity);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than the {} GiB read limit",
            MAX_FILE_BYTES >> 30
        )));
    }
    Ok(bytes)
}

/// [`read_bounded`], as UTF-8 text (config and baseline files).
pub fn read_bounded_text(path: &std::path::Path) -> std::io::Result<String> {
    read_bounded(path).and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other))
}

#[cfg(unix)]
fn open_nonblocking(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // `O_NONBLOCK`: it only matters for FIFOs and devices, which are refused anyway.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const O_NONBLOCK: i32 = 0x0004;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    std::fs::File::open(path)
}

/// Bytes per block of the line index: a query scans at most one block.
const BLOCK: usize = 256;

/// Line breaks (and, in non-ASCII text, code points) before each block of [`BLOCK`]
/// bytes. Counting a block is a loop the compiler vectorises, so the index costs a
/// fraction of an instruction per byte — it is built for every file with a finding,
/// and compiled templates run to megabytes — and a line or column is never a rescan
/// of a (possibly megabyte-long, minified) line.
#[derive(Debug)]
struct LineIndex {
    breaks_before: Vec<u32>,
    breaks: usize,
    /// For non-ASCII text: code points before each block.
    chars_before: Option<Vec<u32>>,
}

fn count_breaks(bytes: &[u8]) -> usize {
    count_where(bytes, |b| b == b'\n')
}

/// How many bytes satisfy `test`, in 32-byte groups with a byte-sized count each: the
/// shape LLVM turns into vector compares and adds.
fn count_where(bytes: &[u8], test: impl Fn(u8) -> bool + Copy) -> usize {
    let mut groups = bytes.chunks_exact(32);
    let mut n: usize = (&mut groups)
        .map(|group| usize::from(group.iter().fold(0u8, |n, &b| n + u8::from(test(b)))))
        .sum::<usize>();
    n += groups.remainder().iter().filter(|&&b| test(b)).count();
    n
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut breaks = 0usize;
        let breaks_before = text
            .as_bytes()
            .chunks(BLOCK)
            .map(|chunk| {
                let before = breaks as u32;
                breaks += count_breaks(chunk);
                before
            })
            .collect();
        let chars_before = (!text.is_ascii()).then(|| {
            let mut before = 0u32;
            let mut chars: Vec<u32> = text
                .as_bytes()
                .chunks(BLOCK)
                .map(|chunk| {
                    let at = before;
                    before += count_where(chunk, |b| !is_continuation(b)) as u32;
                    at
                })
                .collect();
            // The end of a text whose length is a multiple of the block is a block start.
            chars.push(before);
            chars
        });
        LineIndex {
            breaks_before,
            breaks,
            chars_before,
        }
    }

    /// Line breaks in `text[..offset]`: the 0-based line of `offset`.
    fn line_of(&self, text: &str, offset: usize) -> usize {
        let block = offset / BLOCK;
        match self.breaks_before.get(block) {
            Some(&before) => {
                before as usize + count_breaks(&text.as_bytes()[block * BLOCK..offset])
            }
            None => self.breaks,
        }
    }

    /// Where the 0-based `line` starts.
    fn line_start(&self, text: &str, line: usize) -> usize {
        if line == 0 {
            return 0;
        }
        // The block holding the `line`-th line break.
        let block = self
            .breaks_before
            .partition_point(|&before| (before as usize) < line)
            - 1;
        let mut seen = self.breaks_before[block] as usize;
        let from = block * BLOCK;
        for (i, b) in text.as_bytes()[from..].iter().enumerate() {
            if *b == b'\n' {
                seen += 1;
                if seen == line {
                    return from + i + 1;
                }
            }
        }
        text.len()
    }

    /// Code points in `text[..offset]`.
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        match &self.chars_before {
            None => offset,
            Some(chars) => {
                let block = offset / BLOCK;
                let from = block * BLOCK;
                chars.get(block).map_or(0, |&c| c as usize)
                    + count_where(&text.as_bytes()[from..offset], |b| !is_continuation(b))
            }
        }
    }
}

/// A UTF-8 continuation byte: counting the others counts code points.
fn is_continuation(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

/// Why a file's bytes could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the raw file of the first offending byte.
    pub offset: usize,
    pub message: String,
}

impl SourceFile {
    /// Decodes raw bytes: UTF-8 with or without BOM, and UTF-16 LE/BE with a BOM.
    pub fn decode(path: PathBuf, bytes: &[u8]) -> Result<SourceFile, DecodeError> {
        SourceFile::decode_owned(path, bytes.to_vec()).map_err(|(e, _)| e)
    }

    /// Like [`SourceFile::decode`], taking the bytes by value so that UTF-8 text (the
    /// common case) is not copied. On error the bytes are handed back.
    pub fn decode_owned(
        path: PathBuf,
        bytes: Vec<u8>,
    ) -> Result<SourceFile, (DecodeError, Vec<u8>)> {
        let plain_utf8 = !bytes.starts_with(&[0xEF, 0xBB, 0xBF])
            && !bytes.starts_with(&[0xFF, 0xFE])
            && !bytes.starts_with(&[0xFE, 0xFF]);
        if plain_utf8 {
            if looks_like_utf16(&bytes) {
                return Err((nul_error(&bytes), bytes));
            }
            // NUL bytes are looked for only when the text does not parse (see
            // `SourceFile::nul_error`): a scan of every file would cost as much as
            // validating it.
            return match String::from_utf8(bytes) {
                Ok(text) => Ok(SourceFile::from_text(path, text, Encoding::Utf8)),
                Err(e) if looks_like_utf16(e.as_bytes()) => {
                    let bytes = e.into_bytes();
                    Err((nul_error(&bytes), bytes))
                }
                Err(e) => {
                    let offset = e.utf8_error().valid_up_to();
                    Err((
                        DecodeError {
                            offset,
                            message: "is not valid UTF-8".to_owned(),
                        },
                        e.into_bytes(),
                    ))
                }
            };
        }
        match decode_text(&bytes) {
            Ok((text, encoding)) => Ok(SourceFile::from_text(path, text, encoding)),
            Err(e) => Err((e, bytes)),
        }
    }

    /// Reads (bounded, as [`read_bounded`]) and decodes a file, for a file looked at
    /// beside the one being linted: `None` when that cannot be done, which the caller
    /// treats as the file having nothing to offer.
    pub fn read(path: &std::path::Path) -> Option<SourceFile> {
        let bytes = read_bounded(path).ok()?;
        SourceFile::decode_owned(path.to_path_buf(), bytes).ok()
    }

    pub fn from_text(path: PathBuf, text: String, encoding: Encoding) -> SourceFile {
        SourceFile {
            path,
            text: Arc::new(text),
            encoding,
            index: std::sync::OnceLock::new(),
            runs: Vec::new(),
        }
    }

    /// A copy that keeps only the lines `spans` touch, with a line of context on each
    /// side (what a snippet shows), and every other line empty: line numbers and
    /// columns stay those of the file, and [`SourceFile::file_offset`] gives the file's
    /// byte offsets back. For a file kept only for a few related locations (a compiled
    /// Bicep template of 30,000 lines), so that the report does not hold its whole
    /// text. The spans are mapped into the copy with [`SourceFile::span_in_excerpt`].
    pub fn excerpt(&self, spans: &[Span]) -> SourceFile {
        let len = self.text.len();
        let lines = self.line_count();
        let line_of = |offset: u32| self.line_col(offset as usize).0;
        // 1-based line ranges to keep, sorted and merged.
        let mut keep: Vec<(usize, usize)> = spans
            .iter()
            .map(|s| {
                let first = line_of(s.start).saturating_sub(1).max(1);
                (first, (line_of(s.end.max(s.start)) + 1).min(lines))
            })
            .collect();
        keep.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(keep.len());
        for (first, last) in keep {
            match merged.last_mut() {
                Some(prev) if first <= prev.1 + 1 => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        let mut text = String::new();
        let mut runs = Vec::with_capacity(merged.len());
        // The line the copy has reached (1-based).
        let mut line = 1;
        for (first, last) in merged {
            // Each line left out keeps its line break.
            text.extend(std::iter::repeat_n('\n', first - line));
            let from = self.line_range(first).start;
            let to = match last < lines {
                true => self.line_range(last + 1).start,
                false => len,
            };
            runs.push((from, to, text.len()));
            text.push_str(&self.text[from..to]);
            line = last + 1;
        }
        text.extend(std::iter::repeat_n(
            '\n',
            (lines + 1).saturating_sub(line).saturating_sub(1),
        ));
        SourceFile {
            path: self.path.clone(),
            text: Arc::new(text),
            encoding: self.encoding,
            index: std::sync::OnceLock::new(),
            runs,
        }
    }

    /// Where a span of the file is in this excerpt's text (the span itself for a whole
    /// file).
    pub fn span_in_excerpt(&self, span: Span) -> Span {
        let at = |offset: u32| {
            let offset = offset as usize;
            match self.runs.partition_point(|&(from, _, _)| from <= offset) {
                0 => offset,
                i => {
                    let (from, to, text) = self.runs[i - 1];
                    text + (offset.min(to) - from)
                }
            }
        };
        Span::new(at(span.start), at(span.end))
    }

    /// The byte offset in the file of an offset in the text: the byte-order mark added
    /// back, and for an excerpt the text left out.
    pub fn file_offset(&self, offset: usize) -> usize {
        let in_file = match self.runs.partition_point(|&(_, _, text)| text <= offset) {
            0 => offset,
            i => {
                let (from, _, text) = self.runs[i - 1];
                from + (offset - text)
            }
        };
        in_file + self.bom_len()
    }

    /// Why the text is not text after all: it holds a NUL byte (binary data that
    /// happens to be valid UTF-8). Asked only of text that does not parse.
    pub fn nul_error(&self) -> Option<DecodeError> {
        self.text
            .as_bytes()
            .contains(&0)
            .then(|| nul_error(self.text.as_bytes()))
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(&self.text))
    }

    /// Length of the byte-order mark in the original file (0, 2 or 3 bytes).
    ///
    /// For UTF-16 files offsets into the text are UTF-8 offsets of the decoded text;
    /// only the UTF-8 BOM is added back to make raw-file offsets.
    pub fn bom_len(&self) -> usize {
        match self.encoding {
            Encoding::Utf8Bom => 3,
            _ => 0,
        }
    }

    /// 1-based line and 1-based column in Unicode code points for a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let index = self.index();
        let line = index.line_of(&self.text, offset);
        let start = index.line_start(&self.text, line);
        let column =
            index.chars_before(&self.text, offset) - index.chars_before(&self.text, start) + 1;
        (line + 1, column)
    }

    /// Byte offset where the 1-based line starts, and where it ends (before its line
    /// terminator).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let index = self.index();
        let start = index.line_start(&self.text, line - 1);
        let end = if line > index.breaks {
            self.text.len()
        } else {
            index.line_start(&self.text, line)
        };
        let text = self.text[start..end].trim_end_matches(['\n', '\r']);
        start..start + text.len()
    }

    /// The number of lines (a final line without terminator counts).
    pub fn line_count(&self) -> usize {
        self.index().breaks + 1
    }
}

/// UTF-16 without a byte-order mark: ASCII text with a NUL before (big-endian) or after
/// (little-endian) every character. Azure does not read it; say so rather than calling
/// it binary.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(256) & !1];
    if sample.len() < 4 {
        return false;
    }
    let (even_nuls, odd_nuls) = sample.chunks_exact(2).fold((0, 0), |(e, o), pair| {
        (e + usize::from(pair[0] == 0), o + usize::from(pair[1] == 0))
    });
    let pairs = sample.len() / 2;
    (even_nuls * 4 >= pairs * 3 && odd_nuls == 0) || (odd_nuls * 4 >= pairs * 3 && even_nuls == 0)
}

fn nul_error(bytes: &[u8]) -> DecodeError {
    if looks_like_utf16(bytes) {
        let order = if bytes[0] == 0 { "big" } else { "little" };
        return DecodeError {
            offset: 0,
            message: format!("is UTF-16 ({order}-endian) without a byte-order mark"),
        };
    }
    DecodeError {
        offset: bytes.iter().position(|b| *b == 0).unwrap_or(0),
        message: "contains a NUL byte".to_owned(),
    }
}

fn decode_text(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, 3).map(|t| (t, Encoding::Utf8Bom));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(|t| (t, Encoding::Utf16Le));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(|t| (t, Encoding::Utf16Be));
    }
    utf8(bytes, 0).map(|t| (t, Encoding::Utf8))
}

fn utf8(bytes: &[u8], skipped: usize) -> Result<String, DecodeError> {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text.to_owned()),
        Ok(text) => Err(DecodeError {
            offset: skipped + text.find('\0').unwrap_or(0),
            message: "contains a NUL byte".to_owned(),
        }),
        Err(e) => Err(DecodeError {
            offset: skipped + e.valid_up_to(),
            message: "is not valid UTF-8".to_owned(),
        }),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if bytes.len() % 2 != 0 {
        return Err(DecodeError {
            offset: bytes.len() + 1,
            message: "is not valid UTF-16: odd number of bytes".to_owned(),
        });
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for (i, ch) in char::decode_utf16(units).enumerate() {
        match ch {
            Ok('\0') | Err(_) => {
                return Err(DecodeError {
                    offset: 2 + i * 2,
                    message: "is not valid UTF-16 text".to_owned(),
                })
            }
            Ok(c) => text.push(c),
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> SourceFile {
        SourceFile::decode(PathBuf::from("t.json"), bytes).unwrap()
    }

    #[test]
    fn an_excerpt_keeps_lines_columns_and_file_offsets_of_its_spans() {
        // Line 5 holds non-ASCII text and CRLF endings; line 9 ends the file unterminated.
        let mut text = String::from("\u{FEFF}");
        for n in 1..=8 {
            text.push_str(&format!("line {n} é\r\n"));
        }
        text.push_str("last");
        let f = file(text.as_bytes());
        let at = |needle: &str| {
            let start = f.text.find(needle).unwrap();
            Span::new(start, start + needle.len())
        };
        let spans = [at("5 é"), at("last"), Span::new(0, 0)];
        let copy = f.excerpt(&spans);
        assert!(copy.text.len() < f.text.len());
        assert_eq!(copy.line_count(), f.line_count());
        for span in spans {
            let mapped = copy.span_in_excerpt(span);
            assert_eq!(
                &copy.text[mapped.start as usize..mapped.end as usize],
                &f.text[span.start as usize..span.end as usize]
            );
            for (offset, in_copy) in [(span.start, mapped.start), (span.end, mapped.end)] {
                assert_eq!(copy.line_col(in_copy as usize), f.line_col(offset as usize));
                assert_eq!(
                    copy.file_offset(in_copy as usize),
                    f.file_offset(offset as usize)
                );
            }
        }
        // A line of context on each side of a span is kept whole; lines further away are empty.
        assert_eq!(&copy.text[copy.line_range(4)], "line 4 é");
        assert_eq!(&copy.text[copy.line_range(6)], "line 6 é");
        assert_eq!(&copy.text[copy.line_range(3)], "");
        assert_eq!(&copy.text[copy.line_range(2)], "line 2 é");
    }

    #[test]
    fn utf8_bom_is_stripped_and_remembered() {
        let f = file(b"\xEF\xBB\xBF{}");
        assert_eq!(&*f.text, "{}");
        assert_eq!(f.bom_len(), 3);
        assert_eq!(f.line_col(0), (1, 1));
    }

    #[test]
    fn columns_count_code_points_and_lines_handle_crlf() {
        let f = file("{\r\n  \"é\": 1\r\n}".as_bytes());
        assert_eq!(f.line_col(3), (2, 1));
        let one = f.text.find('1').unwrap();
        assert_eq!(f.line_col(one), (2, 8));
        assert_eq!(&f.text[f.line_range(2)], "  \"é\": 1");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("{\"a\":1}".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(&*file(&le).text, "{\"a\":1}");
        let mut be = vec![0xFE, 0xFF];
        be.extend("[]".encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(&*file(&be).text, "[]");
    }

    #[test]
    fn utf16_without_bom_is_named() {
        for (order, to_bytes) in [
            ("little", u16::to_le_bytes as fn(u16) -> [u8; 2]),
            ("big", u16::to_be_bytes),
        ] {
            let bytes: Vec<u8> = "{\"a\": 1}".encode_utf16().flat_map(to_bytes).collect();
            let err = SourceFile::decode(PathBuf::from("t.json"), &bytes).unwrap_err();
            assert_eq!(
                err.message,
                format!("is UTF-16 ({order}-endian) without a byte-order mark")
            );
        }
    }

    #[test]
    fn columns_in_long_non_ascii_lines() {
        let text = format!("{}é{}x", "a".repeat(10_000), "b".repeat(5_000));
        let f = file(text.as_bytes());
        let x = text.find('x').unwrap();
        assert_eq!(f.line_col(x), (1, 15_002));
        assert_eq!(f.line_col(10_002), (1, 10_002));
    }

    #[test]
    fn column_at_the_end_of_a_non_ascii_text_of_whole_blocks() {
        let text = format!("é{}", "a".repeat(2 * BLOCK - 2));
        assert_eq!(text.len(), 2 * BLOCK);
        let f = file(text.as_bytes());
        assert_eq!(f.line_col(text.len()), (1, 2 * BLOCK));
    }

    #[test]
    fn lines_across_blocks() {
        let text: String = (0..2_000).map(|i| format!("line {i}\n")).collect();
        let f = file(text.as_bytes());
        assert_eq!(f.line_count(), 2_001);
        for line in [1, 2, 37, 38, 1_000, 2_000] {
            let range = f.line_range(line);
            assert_eq!(&f.text[range.clone()], format!("line {}", line - 1));
            assert_eq!(f.line_col(range.start), (line, 1));
            assert_eq!(f.line_col(range.end), (line, range.len() + 1));
        }
        assert_eq!(f.line_range(2_001), text.len()..text.len());
    }

    #[test]
    fn binary_is_rejected_with_offset() {
        let err = SourceFile::decode(PathBuf::from("b.json"), b"{\"a\": \xFF}").unwrap_err();
        assert_eq!(err.offset, 6);
        // Valid UTF-8 with NUL bytes decodes; the NUL is named when it does not parse.
        let zip = SourceFile::decode(PathBuf::from("b.json"), b"PK\x03\x04\0\0").unwrap();
        assert_eq!(zip.nul_error().unwrap().offset, 4);
    }
}
