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
}

/// Every read is bounded, whatever the file system reports as the size (spans are
/// 32-bit, and nobody deploys a larger template).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads a regular file, at most [`MAX_FILE_BYTES`]. FIFOs, devices and sockets are
/// refused before they are opened (opening a FIFO blocks; `/dev/zero` never ends).
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let file = std::fs::File::open(path)?;
    let capacity = file.metadata()?.len().min(MAX_FILE_BYTES) as usize;
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

/// Bytes between column checkpoints in non-ASCII text.
const CHECKPOINT_BYTES: usize = 4096;

/// Where lines start, and enough to count code points to any offset in constant time:
/// a column is never a rescan of a (possibly megabyte-long, minified) line.
#[derive(Debug)]
struct LineIndex {
    starts: Vec<u32>,
    /// For non-ASCII text: code points before each multiple of [`CHECKPOINT_BYTES`].
    checkpoints: Option<Vec<u32>>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| (i + 1) as u32))
            .collect();
        let checkpoints = (!text.is_ascii()).then(|| {
            let mut before = 0u32;
            text.as_bytes()
                .chunks(CHECKPOINT_BYTES)
                .map(|chunk| {
                    let at = before;
                    before += chunk.iter().filter(|b| !is_continuation(**b)).count() as u32;
                    at
                })
                .collect()
        });
        LineIndex {
            starts,
            checkpoints,
        }
    }

    /// Code points in `text[..offset]`.
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        match &self.checkpoints {
            None => offset,
            Some(checkpoints) => {
                let block = offset / CHECKPOINT_BYTES;
                let from = block * CHECKPOINT_BYTES;
                checkpoints[block] as usize
                    + text.as_bytes()[from..offset]
                        .iter()
                        .filter(|b| !is_continuation(**b))
                        .count()
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
            return match String::from_utf8(bytes) {
                Ok(text) if !text.contains('\0') => {
                    Ok(SourceFile::from_text(path, text, Encoding::Utf8))
                }
                Ok(text) => {
                    let bytes = text.into_bytes();
                    Err((nul_error(&bytes), bytes))
                }
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

    pub fn from_text(path: PathBuf, text: String, encoding: Encoding) -> SourceFile {
        SourceFile {
            path,
            text: Arc::new(text),
            encoding,
            index: std::sync::OnceLock::new(),
        }
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(&self.text))
    }

    fn line_starts(&self) -> &[u32] {
        &self.index().starts
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
        let starts = self.line_starts();
        let line = starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = starts[line] as usize;
        let index = self.index();
        let column =
            index.chars_before(&self.text, offset) - index.chars_before(&self.text, start) + 1;
        (line + 1, column)
    }

    /// Byte offset where the 1-based line starts, and where it ends (before its line
    /// terminator).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let starts = self.line_starts();
        let start = starts[line - 1] as usize;
        let end = starts
            .get(line)
            .map(|&e| e as usize)
            .unwrap_or(self.text.len());
        let text = self.text[start..end].trim_end_matches(['\n', '\r']);
        start..start + text.len()
    }

    /// The number of lines (a final line without terminator counts).
    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    /// The text of the 1-based line, without its line terminator.
    pub fn line_text(&self, line: usize) -> &str {
        &self.text[self.line_range(line)]
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
        assert_eq!(f.line_text(2), "  \"é\": 1");
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
        let le: Vec<u8> = "{\"a\": 1}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let err = SourceFile::decode(PathBuf::from("t.json"), &le).unwrap_err();
        assert_eq!(
            err.message,
            "is UTF-16 (little-endian) without a byte-order mark"
        );
        let be: Vec<u8> = "{\"a\": 1}"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let err = SourceFile::decode(PathBuf::from("t.json"), &be).unwrap_err();
        assert_eq!(
            err.message,
            "is UTF-16 (big-endian) without a byte-order mark"
        );
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
    fn binary_is_rejected_with_offset() {
        let err = SourceFile::decode(PathBuf::from("b.json"), b"{\"a\": \xFF}").unwrap_err();
        assert_eq!(err.offset, 6);
        let err = SourceFile::decode(PathBuf::from("b.json"), b"PK\x03\x04\0\0").unwrap_err();
        assert_eq!(err.offset, 4);
    }
}
