//! A small XML reader for the documents Eureka servers send: a pull reader over a
//! UTF-8 body that yields start tags (their attributes checked, decoded only when
//! asked), end tags, character data (references checked, resolved only when
//! asked) and CDATA sections, and passes over the XML declaration, processing
//! instructions, comments and a document type declaration.
//!
//! It checks what makes a document well-formed where it matters here: element
//! and attribute names, quoted attribute values without `<`, no attribute twice,
//! every `&` closed by `;`, every end tag closing the element open, nothing left
//! open at the end. Every step is a forward scan (the searches are `memchr`), the
//! nesting is bounded ([`MAX_DEPTH`]) and so is the number of attributes of an
//! element ([`MAX_ATTRIBUTES`]), so time is linear in the body and memory bounded
//! by it.
//!
//! Not supported, as Eureka servers need none of it: encodings other than UTF-8
//! (the body is checked as UTF-8 once, whole), entities declared in a document
//! type declaration (a reference to one is kept as written in text, and refused
//! in an attribute value; the declaration itself is passed over unread), and the
//! well-formedness rules whose breach changes nothing read here: `--` inside a
//! comment, `]]>` in text, the exact classes of name characters beyond ASCII,
//! where declarations stand, text outside the root element (passed on; the parser
//! ignores it) and anything after it (the parser stops at the root's end).

use std::borrow::Cow;
use std::fmt;

use memchr::{memchr, memchr2, memchr3, memmem};

/// Deepest element nesting accepted; Eureka documents are six levels deep.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most attributes one element may have; Eureka writes at most one.
pub(crate) const MAX_ATTRIBUTES: usize = 64;

/// Why a body is not a well-formed document, and where (a byte offset in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XmlError {
    pub at: usize,
    pub kind: XmlErrorKind,
}

/// What is wrong with a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum XmlErrorKind {
    /// The body is not UTF-8.
    NotUtf8,
    /// The body ends inside markup that started at `at`.
    Unclosed(Markup),
    /// The body ends while elements are open; the innermost one's local name.
    Truncated(String),
    /// `<` followed by neither a name, `/`, `!` nor `?`.
    BadName,
    /// Something in a tag that is neither an attribute, `>` nor `/>`.
    BadTag,
    /// `<!` that starts neither a comment, a CDATA section nor a `DOCTYPE`.
    BadDeclaration,
    /// An attribute without `=`, without a quoted value, or with `<` in its value.
    BadAttribute,
    DuplicateAttribute(String),
    TooManyAttributes,
    /// `&` not closed by `;` before the next `<` or `&`.
    UnclosedReference,
    /// A reference in an attribute value that is neither one of the five
    /// predefined entities nor a character reference to a character.
    BadReference(String),
    /// An end tag with no element open.
    UnmatchedEnd(String),
    MismatchedEnd {
        expected: String,
        found: String,
    },
    /// Elements nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// Markup that has an end to look for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Markup {
    Tag,
    Comment,
    CData,
    Doctype,
    ProcessingInstruction,
    AttributeValue,
}

impl fmt::Display for XmlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlErrorKind::NotUtf8 => f.write_str("it is not UTF-8"),
            XmlErrorKind::Unclosed(what) => {
                let what = match what {
                    Markup::Tag => "a tag",
                    Markup::Comment => "a comment",
                    Markup::CData => "a CDATA section",
                    Markup::Doctype => "a DOCTYPE declaration",
                    Markup::ProcessingInstruction => "a processing instruction",
                    Markup::AttributeValue => "an attribute value",
                };
                write!(f, "it ends inside {what}")
            }
            XmlErrorKind::Truncated(name) => write!(f, "it ends inside <{name}> (truncated?)"),
            XmlErrorKind::BadName => f.write_str("`<` is not followed by a name"),
            XmlErrorKind::BadTag => f.write_str("a tag holds something that is not an attribute"),
            XmlErrorKind::BadDeclaration => {
                f.write_str("`<!` starts neither a comment, CDATA nor DOCTYPE")
            }
            XmlErrorKind::BadAttribute => {
                f.write_str("an attribute has no `=` and quoted value without `<`")
            }
            XmlErrorKind::DuplicateAttribute(name) => write!(f, "attribute {name} is repeated"),
            XmlErrorKind::TooManyAttributes => {
                write!(f, "an element has more than {MAX_ATTRIBUTES} attributes")
            }
            XmlErrorKind::UnclosedReference => f.write_str("`&` is not closed by `;`"),
            XmlErrorKind::BadReference(name) => {
                write!(f, "unknown reference &{name}; in an attribute value")
            }
            XmlErrorKind::UnmatchedEnd(name) => write!(f, "</{name}> closes no element"),
            XmlErrorKind::MismatchedEnd { expected, found } => {
                write!(f, "expected </{expected}>, found </{found}>")
            }
            XmlErrorKind::TooDeep => {
                write!(f, "elements are nested deeper than {MAX_DEPTH} levels")
            }
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.kind, self.at)
    }
}

/// What the reader found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A start tag, or an empty-element tag (`empty`, with no [`Token::End`] after it).
    Start(Tag<'a>),
    /// The end tag of the element open (its name already checked).
    End,
    /// Character data between markup.
    Text(Text<'a>),
    /// The content of a CDATA section, as written.
    CData(&'a str),
    /// The end of a body with no element open.
    Eof,
}

/// A start tag.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    /// Its qualified name.
    pub name: &'a str,
    /// Its attributes as written (checked), empty when it has none.
    attrs: &'a str,
    /// Whether it is an empty-element tag (`<name/>`).
    pub empty: bool,
}

impl<'a> Tag<'a> {
    /// The name without its namespace prefix (what follows the first `:`).
    pub(crate) fn local_name(&self) -> &'a str {
        local(self.name)
    }

    pub(crate) fn has_attributes(&self) -> bool {
        !self.attrs.is_empty()
    }

    /// Its attributes in document order.
    pub(crate) fn attributes(&self) -> Attributes<'a> {
        Attributes { rest: self.attrs }
    }
}

/// Character data as written: references checked, not resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Text<'a> {
    raw: &'a str,
    /// Whether it has neither a reference nor a carriage return (it reads as written).
    plain: bool,
}

impl<'a> Text<'a> {
    /// Whether it is only XML white space as written.
    pub(crate) fn is_blank(&self) -> bool {
        self.raw.bytes().all(is_space)
    }

    /// The text it stands for: line ends as `\n`, references resolved (those that
    /// name no character or predefined entity kept as written).
    pub(crate) fn decoded(&self) -> Cow<'a, str> {
        if self.plain {
            Cow::Borrowed(self.raw)
        } else {
            Cow::Owned(decode(self.raw, b'\n'))
        }
    }
}

/// Line ends of a CDATA section as `\n`.
pub(crate) fn cdata_text(raw: &str) -> Cow<'_, str> {
    if memchr(b'\r', raw.as_bytes()).is_none() {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(decode(raw, b'\n'))
    }
}

/// One attribute: its qualified name and its value as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attribute<'a> {
    pub name: &'a str,
    raw: &'a str,
}

impl<'a> Attribute<'a> {
    pub(crate) fn local_name(&self) -> &'a str {
        local(self.name)
    }

    /// The value as XML normalises it: white space characters as spaces,
    /// references resolved.
    pub(crate) fn value(&self) -> Cow<'a, str> {
        if self
            .raw
            .bytes()
            .any(|b| matches!(b, b'&' | b'\t' | b'\r' | b'\n'))
        {
            Cow::Owned(decode(self.raw, b' '))
        } else {
            Cow::Borrowed(self.raw)
        }
    }
}

/// The attributes of a tag the reader checked.
pub(crate) struct Attributes<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let rest = trim_space(self.rest);
        let name_len = rest.bytes().position(|b| b == b'=' || is_space(b))?;
        let (name, rest) = rest.split_at_checked(name_len)?;
        let rest = trim_space(trim_space(rest).strip_prefix('=')?);
        let quote = *rest
            .as_bytes()
            .first()
            .filter(|q| matches!(q, b'"' | b'\''))?;
        let rest = rest.get(1..)?;
        let (raw, rest) = rest.split_at_checked(memchr(quote, rest.as_bytes())?)?;
        self.rest = rest.get(1..)?;
        Some(Attribute { name, raw })
    }
}

/// The pull reader over one document.
pub(crate) struct Reader<'a> {
    doc: &'a str,
    pos: usize,
    /// The names of the open elements, outermost first.
    open: Vec<&'a str>,
    /// The attribute names of the tag being read (to find one repeated).
    names: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    /// A reader of `body`, which must be UTF-8 as a whole.
    pub(crate) fn new(body: &'a [u8]) -> Result<Reader<'a>, XmlError> {
        let doc = std::str::from_utf8(body).map_err(|e| XmlError {
            at: e.valid_up_to(),
            kind: XmlErrorKind::NotUtf8,
        })?;
        Ok(Reader {
            doc,
            pos: 0,
            open: Vec::new(),
            names: Vec::new(),
        })
    }

    fn bytes(&self) -> &'a [u8] {
        self.doc.as_bytes()
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.bytes().get(i).copied()
    }

    /// The bytes from `i` on (empty past the end).
    fn from(&self, i: usize) -> &'a [u8] {
        self.bytes().get(i..).unwrap_or_default()
    }

    /// The text from `start` to `end`; empty if that is not a slice of the body on
    /// character boundaries (the reader only cuts at ASCII bytes, so it always is).
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.doc.get(start..end).unwrap_or_default()
    }

    fn fail<T>(&self, at: usize, kind: XmlErrorKind) -> Result<T, XmlError> {
        Err(XmlError { at, kind })
    }

    /// The next token.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, XmlError> {
        loop {
            let at = self.pos;
            match (self.byte(at), self.byte(at + 1)) {
                (None, _) => return self.eof(),
                (Some(b'<'), Some(b'/')) => return self.end_tag(),
                (Some(b'<'), Some(b'!')) => {
                    if let Some(cdata) = self.declaration()? {
                        return Ok(cdata);
                    }
                }
                (Some(b'<'), Some(b'?')) => self.processing_instruction()?,
                (Some(b'<'), Some(_)) => return self.start_tag().map(Token::Start),
                (Some(b'<'), None) => return self.fail(at, XmlErrorKind::Unclosed(Markup::Tag)),
                (Some(_), _) => return self.text().map(Token::Text),
            }
        }
    }

    fn eof(&self) -> Result<Token<'a>, XmlError> {
        match self.open.last() {
            None => Ok(Token::Eof),
            Some(name) => {
                let name = local(name).chars().take(40).collect();
                self.fail(self.pos, XmlErrorKind::Truncated(name))
            }
        }
    }

    /// Character data up to the next `<` or the end; every `&` must be closed by
    /// `;` before the next `<` or `&`.
    fn text(&mut self) -> Result<Text<'a>, XmlError> {
        let start = self.pos;
        let mut i = start;
        let mut plain = true;
        let end = loop {
            let Some(k) = memchr3(b'<', b'&', b'\r', self.from(i)) else {
                break self.doc.len();
            };
            let at = i + k;
            match self.byte(at) {
                Some(b'&') => {
                    plain = false;
                    let rest = self.from(at + 1);
                    match memchr3(b';', b'<', b'&', rest) {
                        Some(n) if rest.get(n) == Some(&b';') => i = at + 1 + n + 1,
                        _ => return self.fail(at, XmlErrorKind::UnclosedReference),
                    }
                }
                Some(b'\r') => {
                    plain = false;
                    i = at + 1;
                }
                _ => break at,
            }
        };
        self.pos = end;
        Ok(Text {
            raw: self.slice(start, end),
            plain,
        })
    }

    /// The end of the name that starts at `i`; an error unless one starts there.
    fn name_end(&self, i: usize) -> Result<usize, XmlError> {
        let rest = self.from(i);
        match rest.first() {
            Some(b) if NAME[usize::from(*b)] == START => {}
            _ => return self.fail(i, XmlErrorKind::BadName),
        }
        let len = rest
            .iter()
            .position(|b| NAME[usize::from(*b)] == OTHER)
            .unwrap_or(rest.len());
        Ok(i + len)
    }

    /// The first byte at or after `i` that is not white space.
    fn skip_space(&self, i: usize) -> usize {
        let rest = self.from(i);
        i + rest
            .iter()
            .position(|b| !is_space(*b))
            .unwrap_or(rest.len())
    }

    /// Passes over XML white space, for a reader to whom blank text between
    /// elements means nothing.
    pub(crate) fn skip_blank(&mut self) {
        self.pos = self.skip_space(self.pos);
    }

    /// The content of the element just opened when it is character data alone
    /// followed by the element's end tag: that text, the end tag read too. `None`,
    /// with nothing read, when the element holds markup.
    pub(crate) fn text_and_end(&mut self) -> Result<Option<Text<'a>>, XmlError> {
        let Some(name) = self.open.last().copied() else {
            return Ok(None);
        };
        let start = self.pos;
        let text = self.text()?;
        let end = self.pos + 2 + name.len();
        let rest = self.from(self.pos);
        if rest.starts_with(b"</")
            && rest.get(2..2 + name.len()) == Some(name.as_bytes())
            && rest.get(2 + name.len()) == Some(&b'>')
        {
            self.open.pop();
            self.pos = end + 1;
            return Ok(Some(text));
        }
        self.pos = start;
        Ok(None)
    }

    /// `<name attributes>` or `<name attributes/>`.
    fn start_tag(&mut self) -> Result<Tag<'a>, XmlError> {
        let at = self.pos;
        let name_end = self.name_end(at + 1)?;
        let name = self.slice(at + 1, name_end);
        let mut i = name_end;
        let mut attrs_end = name_end;
        self.names.clear();
        let empty = loop {
            let next = self.skip_space(i);
            match self.byte(next) {
                Some(b'>') => {
                    i = next + 1;
                    break false;
                }
                Some(b'/') if self.byte(next + 1) == Some(b'>') => {
                    i = next + 2;
                    break true;
                }
                None => return self.fail(at, XmlErrorKind::Unclosed(Markup::Tag)),
                Some(_) if next > i => {
                    i = self.attribute(next)?;
                    attrs_end = i;
                }
                Some(_) => return self.fail(next, XmlErrorKind::BadTag),
            }
        };
        if self.open.len() >= MAX_DEPTH {
            return self.fail(at, XmlErrorKind::TooDeep);
        }
        if !empty {
            self.open.push(name);
        }
        self.pos = i;
        Ok(Tag {
            name,
            attrs: self.slice(name_end, attrs_end),
            empty,
        })
    }

    /// Checks the attribute that starts at `at`; where it ends.
    fn attribute(&mut self, at: usize) -> Result<usize, XmlError> {
        let name_end = self.name_end(at).map_err(|e| XmlError {
            kind: XmlErrorKind::BadTag,
            ..e
        })?;
        let name = self.slice(at, name_end);
        if self.names.len() >= MAX_ATTRIBUTES {
            return self.fail(at, XmlErrorKind::TooManyAttributes);
        }
        if self.names.contains(&name) {
            return self.fail(at, XmlErrorKind::DuplicateAttribute(name.to_string()));
        }
        self.names.push(name);
        let eq = self.skip_space(name_end);
        if self.byte(eq) != Some(b'=') {
            return self.fail(eq, XmlErrorKind::BadAttribute);
        }
        let open = self.skip_space(eq + 1);
        let quote = match self.byte(open) {
            Some(q @ (b'"' | b'\'')) => q,
            None => return self.fail(at, XmlErrorKind::Unclosed(Markup::Tag)),
            Some(_) => return self.fail(open, XmlErrorKind::BadAttribute),
        };
        let start = open + 1;
        let Some(len) = memchr(quote, self.from(start)) else {
            return self.fail(open, XmlErrorKind::Unclosed(Markup::AttributeValue));
        };
        self.check_value(start, start + len)?;
        Ok(start + len + 1)
    }

    /// An attribute value: no `<`, every reference one that resolves.
    fn check_value(&self, start: usize, end: usize) -> Result<(), XmlError> {
        let value = self.bytes().get(start..end).unwrap_or_default();
        let mut i = 0;
        while let Some(k) = memchr2(b'<', b'&', value.get(i..).unwrap_or_default()) {
            let at = i + k;
            if value.get(at) == Some(&b'<') {
                return self.fail(start + at, XmlErrorKind::BadAttribute);
            }
            let rest = value.get(at + 1..).unwrap_or_default();
            let Some(n) = memchr(b';', rest) else {
                return self.fail(start + at, XmlErrorKind::UnclosedReference);
            };
            let name = self.slice(start + at + 1, start + at + 1 + n);
            if resolve(name).is_none() {
                let name = name.chars().take(40).collect();
                return self.fail(start + at, XmlErrorKind::BadReference(name));
            }
            i = at + 1 + n + 1;
        }
        Ok(())
    }

    /// `</name>`, which must close the element open.
    fn end_tag(&mut self) -> Result<Token<'a>, XmlError> {
        let at = self.pos;
        if let Some(open) = self.open.last() {
            let rest = self.from(at + 2);
            if rest.get(..open.len()) == Some(open.as_bytes())
                && rest.get(open.len()) == Some(&b'>')
            {
                self.pos = at + 2 + open.len() + 1;
                self.open.pop();
                return Ok(Token::End);
            }
        }
        let name_end = self.name_end(at + 2)?;
        let name = self.slice(at + 2, name_end);
        let close = self.skip_space(name_end);
        match self.byte(close) {
            Some(b'>') => {}
            None => return self.fail(at, XmlErrorKind::Unclosed(Markup::Tag)),
            Some(_) => return self.fail(close, XmlErrorKind::BadTag),
        }
        match self.open.pop() {
            Some(open) if open == name => {}
            Some(open) => {
                let expected = open.chars().take(40).collect();
                let found = name.chars().take(40).collect();
                return self.fail(at, XmlErrorKind::MismatchedEnd { expected, found });
            }
            None => {
                let name = name.chars().take(40).collect();
                return self.fail(at, XmlErrorKind::UnmatchedEnd(name));
            }
        }
        self.pos = close + 1;
        Ok(Token::End)
    }

    /// `<!--…-->` (passed over), `<![CDATA[…]]>` (its content) or `<!DOCTYPE…>`
    /// (passed over, with its internal subset).
    fn declaration(&mut self) -> Result<Option<Token<'a>>, XmlError> {
        let at = self.pos;
        let rest = self.from(at);
        if rest.starts_with(b"<!--") {
            let Some(end) = memmem::find(rest.get(4..).unwrap_or_default(), b"-->") else {
                return self.fail(at, XmlErrorKind::Unclosed(Markup::Comment));
            };
            self.pos = at + 4 + end + 3;
            Ok(None)
        } else if rest.starts_with(b"<![CDATA[") {
            let start = at + 9;
            let Some(end) = memmem::find(self.from(start), b"]]>") else {
                return self.fail(at, XmlErrorKind::Unclosed(Markup::CData));
            };
            self.pos = start + end + 3;
            Ok(Some(Token::CData(self.slice(start, start + end))))
        } else if rest.starts_with(b"<!DOCTYPE") {
            self.pos = self.doctype_end(at)?;
            Ok(None)
        } else {
            self.fail(at, XmlErrorKind::BadDeclaration)
        }
    }

    /// Where the `DOCTYPE` declaration at `at` ends: its first `>` outside quotes
    /// and outside its internal subset (`[…]`).
    fn doctype_end(&self, at: usize) -> Result<usize, XmlError> {
        let mut quote = None;
        let mut subset = false;
        for (i, b) in self.from(at).iter().enumerate() {
            match (quote, *b) {
                (Some(q), b) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(*b),
                (None, b'[') => subset = true,
                (None, b']') => subset = false,
                (None, b'>') if !subset => return Ok(at + i + 1),
                (None, _) => {}
            }
        }
        self.fail(at, XmlErrorKind::Unclosed(Markup::Doctype))
    }

    /// `<?…?>`, passed over (the XML declaration is one).
    fn processing_instruction(&mut self) -> Result<(), XmlError> {
        let at = self.pos;
        let Some(end) = memmem::find(self.from(at + 2), b"?>") else {
            return self.fail(at, XmlErrorKind::Unclosed(Markup::ProcessingInstruction));
        };
        self.pos = at + 2 + end + 2;
        Ok(())
    }
}

/// What follows the first `:` of a qualified name, or the whole name.
fn local(qname: &str) -> &str {
    match qname.bytes().position(|b| b == b':') {
        Some(i) => qname.get(i + 1..).unwrap_or_default(),
        None => qname,
    }
}

/// XML white space.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without the XML white space it starts with.
fn trim_space(s: &str) -> &str {
    let n = s.bytes().position(|b| !is_space(b)).unwrap_or(s.len());
    s.get(n..).unwrap_or_default()
}

/// A byte that can start a name.
const START: u8 = 2;
/// A byte that can be in a name but not start it.
const INNER: u8 = 1;
/// A byte that ends a name.
const OTHER: u8 = 0;

/// The bytes of names: ASCII letters, `_` and `:` start one; digits, `-` and `.`
/// continue one; every byte of a character beyond ASCII does either.
const NAME: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80 {
            START
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            INNER
        } else {
            OTHER
        };
        b += 1;
    }
    table
};

/// What a reference (the text between `&` and `;`) stands for: one of the five
/// predefined entities, or a character reference (`#n`, `#xh`) to a character
/// other than NUL.
pub(crate) fn resolve(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            if digits.starts_with(['+', '-']) {
                return None;
            }
            let code = u32::from_str_radix(digits, radix).ok()?;
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

/// `raw` with its line ends (`\r\n`, `\r`) and, for attribute values, its other
/// white space characters as `space`, and its references resolved (one that
/// resolves to nothing is kept as written).
fn decode(raw: &str, space: u8) -> String {
    let attribute = space == b' ';
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let found = if attribute {
            rest.find(['&', '\r', '\n', '\t'])
        } else {
            rest.find(['&', '\r'])
        };
        let Some((before, after)) = found.and_then(|i| rest.split_at_checked(i)) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(before);
        let mut chars = after.chars();
        match chars.next() {
            Some('&') => {
                let tail = chars.as_str();
                let reference = tail.split_once(';');
                match reference.and_then(|(name, tail)| Some((resolve(name)?, tail))) {
                    Some((c, tail)) => {
                        out.push(c);
                        rest = tail;
                    }
                    None => {
                        out.push('&');
                        rest = tail;
                    }
                }
            }
            Some('\r') => {
                out.push(char::from(space));
                rest = chars.as_str();
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            Some(_) => {
                out.push(char::from(space));
                rest = chars.as_str();
            }
            None => return out,
        }
    }
}

#[cfg(test)]
#[path = "xml_reader_tests.rs"]
mod tests;
