//! A YAML writer that produces the same bytes as SAM CLI's PyYAML-based writer.
//! SAM dumps with a `SafeDumper` subclass (block style, key order kept, no aliases, strings
//! starting with "0" single-quoted); this ports the parts of PyYAML's emitter that it exercises.

use serde_yaml::Value;

/// PyYAML's default `best_indent`.
const BEST_INDENT: usize = 2;
/// PyYAML's default `best_width`.
const BEST_WIDTH: usize = 80;

/// Writes `value` as SAM CLI writes a template (PyYAML safe dumper, block style, key order kept).
pub fn to_sam_yaml(value: &Value) -> String {
    let mut emitter = Emitter::default();
    emitter.expect_node(value, Context::ROOT);
    // DocumentEndEvent (implicit) followed by StreamEndEvent.
    emitter.write_indent();
    if emitter.open_ended {
        emitter.write_indicator("...", true, false, false);
        emitter.write_indent();
    }
    emitter.out
}

/// The resolver tags a scalar can carry (those PyYAML's SafeDumper knows implicitly).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Str,
    Bool,
    Int,
    Float,
    Null,
    Merge,
    Timestamp,
    Value,
    Yaml,
}

impl Tag {
    /// The tag as `prepare_tag` shortens it (`tag:yaml.org,2002:` becomes `!!`).
    fn short(self) -> &'static str {
        match self {
            Tag::Str => "!!str",
            Tag::Bool => "!!bool",
            Tag::Int => "!!int",
            Tag::Float => "!!float",
            Tag::Null => "!!null",
            Tag::Merge => "!!merge",
            Tag::Timestamp => "!!timestamp",
            Tag::Value => "!!value",
            Tag::Yaml => "!!yaml",
        }
    }
}

/// A represented scalar node: what PyYAML's representer turns a value into.
struct Scalar {
    text: Vec<char>,
    tag: Tag,
    /// SAM's string representer forces single quotes on strings starting with "0".
    single_quoted: bool,
}

impl Scalar {
    fn new(text: &str, tag: Tag) -> Self {
        Scalar {
            text: text.chars().collect(),
            tag,
            single_quoted: false,
        }
    }

    /// `implicit[0]`: would the text read back plain as this scalar's tag?
    fn plain_implicit(&self) -> bool {
        resolve(&self.text) == self.tag
    }

    /// `implicit[1]`: would the text read back quoted as this scalar's tag?
    fn quoted_implicit(&self) -> bool {
        self.tag == Tag::Str
    }
}

/// Turns a non-collection value into its scalar node (None for sequences and mappings).
fn represent(value: &Value) -> Option<Scalar> {
    Some(match value {
        Value::Null => Scalar::new("null", Tag::Null),
        Value::Bool(b) => Scalar::new(if *b { "true" } else { "false" }, Tag::Bool),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Scalar::new(&i.to_string(), Tag::Int)
            } else if let Some(u) = n.as_u64() {
                Scalar::new(&u.to_string(), Tag::Int)
            } else {
                Scalar::new(&represent_float(n.as_f64().unwrap_or(f64::NAN)), Tag::Float)
            }
        }
        Value::String(s) => Scalar {
            text: s.chars().collect(),
            tag: Tag::Str,
            single_quoted: s.starts_with('0'),
        },
        Value::Tagged(tagged) => return represent(&tagged.value),
        Value::Sequence(_) | Value::Mapping(_) => return None,
    })
}

/// PyYAML's `represent_float`: Python's `repr`, lowercased, with `.0` added before a bare exponent.
fn represent_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let value = python_float_repr(f);
    if !value.contains('.') && value.contains('e') {
        value.replacen('e', ".0e", 1)
    } else {
        value
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form when the decimal point
/// position is <= -4 or > 16 (`format_float_short` with mode 'r').
fn python_float_repr(f: f64) -> String {
    // Rust's `{:e}` prints the shortest round-trip digits ("1.5e20", "1e-5"), but on an exact
    // tie between two shortest candidates it rounds half up where Python rounds half to even;
    // the correctly rounded string of the same length settles that.
    let shortest = format!("{:e}", f.abs());
    let ndigits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let rounded = format!("{:.*e}", ndigits.saturating_sub(1), f.abs());
    let sci = if rounded.parse::<f64>() == Ok(f.abs()) {
        rounded
    } else {
        shortest
    };
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return format!("{f:?}");
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return format!("{f:?}");
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let Ok(ndigits) = i32::try_from(digits.len()) else {
        return format!("{f:?}");
    };
    // Each branch below makes the count it converts non-negative.
    let count = |n: i32| usize::try_from(n).unwrap_or(0);
    let decpt = exp + 1;
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if ndigits > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{sign}{:02}", exp.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(count(-decpt)));
        out.push_str(&digits);
    } else if decpt >= ndigits {
        out.push_str(&digits);
        out.push_str(&"0".repeat(count(decpt - ndigits)));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..count(decpt)]);
        out.push('.');
        out.push_str(&digits[count(decpt)..]);
    }
    out
}

// ---------------------------------------------------------------------------
// Implicit resolvers (PyYAML resolver.py, YAML 1.1), hand-written regex matchers.
// ---------------------------------------------------------------------------

/// The tag a plain scalar with this text would be read back as.
fn resolve(s: &[char]) -> Tag {
    // Resolver order does not matter: the patterns are mutually exclusive.
    if is_bool(s) {
        Tag::Bool
    } else if is_float(s) {
        Tag::Float
    } else if is_int(s) {
        Tag::Int
    } else if s == ['<', '<'] {
        Tag::Merge
    } else if is_null(s) {
        Tag::Null
    } else if is_timestamp(s) {
        Tag::Timestamp
    } else if s == ['='] {
        Tag::Value
    } else if matches!(s, ['!' | '&' | '*']) {
        Tag::Yaml
    } else {
        Tag::Str
    }
}

fn is_bool(s: &[char]) -> bool {
    const WORDS: [&str; 18] = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    WORDS.iter().any(|w| w.chars().eq(s.iter().copied()))
}

fn is_null(s: &[char]) -> bool {
    const WORDS: [&str; 5] = ["~", "null", "Null", "NULL", ""];
    WORDS.iter().any(|w| w.chars().eq(s.iter().copied()))
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn strip_sign(s: &[char]) -> &[char] {
    match s.first() {
        Some('-' | '+') => &s[1..],
        _ => s,
    }
}

/// `[0-9_]*`
fn all_digits_or_underscore(s: &[char]) -> bool {
    s.iter().all(|&c| is_digit(c) || c == '_')
}

/// `[0-5]?[0-9]`
fn is_sexagesimal_part(s: &[char]) -> bool {
    match s {
        [a] => is_digit(*a),
        [a, b] => ('0'..='5').contains(a) && is_digit(*b),
        _ => false,
    }
}

/// `(?:[eE][-+][0-9]+)?`
fn is_optional_exponent(s: &[char]) -> bool {
    match s {
        [] => true,
        ['e' | 'E', '-' | '+', rest @ ..] => !rest.is_empty() && rest.iter().all(|&c| is_digit(c)),
        _ => false,
    }
}

/// `[0-9][0-9_]*`
fn is_digit_run(s: &[char]) -> bool {
    matches!(s.first(), Some(c) if is_digit(*c)) && all_digits_or_underscore(&s[1..])
}

fn is_float(s: &[char]) -> bool {
    // [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    let unsigned = strip_sign(s);
    for word in [".inf", ".Inf", ".INF"] {
        if word.chars().eq(unsigned.iter().copied()) {
            return true;
        }
    }
    for word in [".nan", ".NaN", ".NAN"] {
        if word.chars().eq(s.iter().copied()) {
            return true;
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    if let Some(('.', rest)) = s.split_first().map(|(c, r)| (*c, r)) {
        let run = rest
            .iter()
            .take_while(|&&c| is_digit(c) || c == '_')
            .count();
        if is_digit_run(&rest[..run]) && is_optional_exponent(&rest[run..]) {
            return true;
        }
    }
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    let run = unsigned
        .iter()
        .take_while(|&&c| is_digit(c) || c == '_')
        .count();
    if is_digit_run(&unsigned[..run]) && unsigned.get(run) == Some(&'.') {
        let frac = &unsigned[run + 1..];
        let frac_len = frac
            .iter()
            .take_while(|&&c| is_digit(c) || c == '_')
            .count();
        if is_optional_exponent(&frac[frac_len..]) {
            return true;
        }
    }
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    let parts: Vec<&[char]> = unsigned.split(|&c| c == ':').collect();
    match parts.as_slice() {
        [first, middle @ .., last] if is_digit_run(first) => {
            let Some(dot) = last.iter().position(|&c| c == '.') else {
                return false;
            };
            middle.iter().all(|p| is_sexagesimal_part(p))
                && is_sexagesimal_part(&last[..dot])
                && all_digits_or_underscore(&last[dot + 1..])
        }
        _ => false,
    }
}

fn is_int(s: &[char]) -> bool {
    let r = strip_sign(s);
    match r {
        // [-+]?0b[0-1_]+
        ['0', 'b', rest @ ..] if !rest.is_empty() && rest.iter().all(|c| "01_".contains(*c)) => {
            return true;
        }
        // [-+]?0x[0-9a-fA-F_]+
        ['0', 'x', rest @ ..]
            if !rest.is_empty() && rest.iter().all(|&c| c.is_ascii_hexdigit() || c == '_') =>
        {
            return true;
        }
        // [-+]?0[0-7_]+ and [-+]?0
        ['0', rest @ ..] => {
            return rest.is_empty() || rest.iter().all(|c| "01234567_".contains(*c));
        }
        _ => {}
    }
    // [-+]?[1-9][0-9_]* and [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    let mut parts = r.split(|&c| c == ':');
    let Some(first) = parts.next() else {
        return false;
    };
    if !matches!(first.first(), Some('1'..='9')) || !all_digits_or_underscore(&first[1..]) {
        return false;
    }
    parts.all(is_sexagesimal_part)
}

fn is_timestamp(s: &[char]) -> bool {
    let mut p = Cursor { s, pos: 0 };
    // [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    if s.len() == 10
        && s.iter().enumerate().all(|(i, &c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                is_digit(c)
            }
        })
    {
        return true;
    }
    // [0-9]{4} -[0-9][0-9]? -[0-9][0-9]? (?:[Tt]|[ \t]+)[0-9][0-9]? :[0-9][0-9] :[0-9][0-9]
    // (?:\.[0-9]*)? (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    if !(p.digits(4, 4) && p.eat('-') && p.digits(1, 2) && p.eat('-') && p.digits(1, 2)) {
        return false;
    }
    if !(p.eat('T') || p.eat('t') || p.many(|c| c == ' ' || c == '\t') > 0) {
        return false;
    }
    if !(p.digits(1, 2) && p.eat(':') && p.digits(2, 2) && p.eat(':') && p.digits(2, 2)) {
        return false;
    }
    if p.eat('.') {
        p.many(is_digit);
    }
    if p.at_end() {
        return true;
    }
    p.many(|c| c == ' ' || c == '\t');
    if p.eat('Z') {
        return p.at_end();
    }
    if !((p.eat('-') || p.eat('+')) && p.digits(1, 2)) {
        return false;
    }
    if p.eat(':') && !p.digits(2, 2) {
        return false;
    }
    p.at_end()
}

/// A tiny forward-only matcher for the timestamp pattern.
struct Cursor<'a> {
    s: &'a [char],
    pos: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, c: char) -> bool {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn many(&mut self, pred: impl Fn(char) -> bool) -> usize {
        let n = self.s[self.pos..].iter().take_while(|&&c| pred(c)).count();
        self.pos += n;
        n
    }

    /// Between `min` and `max` digits, greedily; every use is followed by a non-digit, so
    /// greedy matching is what the backtracking regex does too.
    fn digits(&mut self, min: usize, max: usize) -> bool {
        let n = self.s[self.pos..]
            .iter()
            .take(max)
            .take_while(|&&c| is_digit(c))
            .count();
        self.pos += n;
        n >= min
    }

    fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }
}

// ---------------------------------------------------------------------------
// Scalar analysis (Emitter.analyze_scalar, with allow_unicode=False, block context only).
// ---------------------------------------------------------------------------

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_break_or_nul_space(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

fn analyze_scalar(s: &[char]) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;

    if s.starts_with(&['-', '-', '-']) || s.starts_with(&['.', '.', '.']) {
        block_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = s.len() == 1 || is_break_or_nul_space(s[1]);
    let mut previous_space = false;
    let mut previous_break = false;

    for (index, &ch) in s.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':' || ch == '-') && followed_by_whitespace {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_whitespace {
                block_indicators = true;
            }
        }

        if is_break(ch) {
            line_breaks = true;
        }
        // Without allow_unicode, anything outside printable ASCII (bar '\n') is special.
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            special_characters = true;
        }

        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == s.len() - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == s.len() - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }

        preceded_by_whitespace = is_break_or_nul_space(ch);
        followed_by_whitespace = index + 2 >= s.len() || is_break_or_nul_space(s[index + 2]);
    }

    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space || space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

// ---------------------------------------------------------------------------
// The emitter state machine, driven recursively by the value instead of by events.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

impl Context {
    const ROOT: Context = Context {
        root: true,
        mapping: false,
        simple_key: false,
    };
    const SEQUENCE: Context = Context {
        root: false,
        mapping: false,
        simple_key: false,
    };
    const MAPPING: Context = Context {
        root: false,
        mapping: true,
        simple_key: false,
    };
    const SIMPLE_KEY: Context = Context {
        root: false,
        mapping: true,
        simple_key: true,
    };
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

struct Emitter {
    out: String,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    ctx: Context,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter {
            out: String::new(),
            indents: Vec::new(),
            indent: None,
            ctx: Context::ROOT,
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
        }
    }
}

impl Emitter {
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None => Some(if flow { BEST_INDENT } else { 0 }),
            Some(i) if !indentless => Some(i + BEST_INDENT),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn expect_node(&mut self, value: &Value, ctx: Context) {
        self.ctx = ctx;
        match value {
            Value::Tagged(tagged) => self.expect_node(&tagged.value, ctx),
            // Empty collections are written in flow style; nothing else ever is.
            Value::Sequence(items) if items.is_empty() => self.write_empty_flow("[", "]"),
            Value::Mapping(map) if map.is_empty() => self.write_empty_flow("{", "}"),
            Value::Sequence(items) => self.expect_block_sequence(items),
            Value::Mapping(map) => self.expect_block_mapping(map),
            _ => {
                if let Some(scalar) = represent(value) {
                    self.expect_scalar(&scalar);
                }
            }
        }
    }

    fn write_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn expect_block_sequence(&mut self, items: &[Value]) {
        // A sequence that is a mapping value starts at the key's column ("indentless").
        let indentless = self.ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.expect_node(item, Context::SEQUENCE);
        }
        self.pop_indent();
    }

    fn expect_block_mapping(&mut self, map: &serde_yaml::Mapping) {
        self.increase_indent(false, false);
        for (key, value) in map {
            self.write_indent();
            if check_simple_key(key) {
                self.expect_node(key, Context::SIMPLE_KEY);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.expect_node(key, Context::MAPPING);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.expect_node(value, Context::MAPPING);
        }
        self.pop_indent();
    }

    fn expect_scalar(&mut self, scalar: &Scalar) {
        self.increase_indent(true, false);
        let analysis = analyze_scalar(&scalar.text);
        let style = self.choose_scalar_style(scalar, &analysis);
        // process_tag: a tag is only written when the chosen style would not read back right.
        let implicit = match style {
            Style::Plain => scalar.plain_implicit(),
            _ => scalar.quoted_implicit(),
        };
        if !implicit {
            self.write_indicator(scalar.tag.short(), true, false, false);
        }
        let split = !self.ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(&scalar.text, split),
            Style::SingleQuoted => self.write_single_quoted(&scalar.text, split),
            Style::DoubleQuoted => self.write_double_quoted(&scalar.text, split),
        }
        self.pop_indent();
    }

    fn choose_scalar_style(&self, scalar: &Scalar, analysis: &Analysis) -> Style {
        let simple_key = self.ctx.simple_key;
        if !scalar.single_quoted
            && scalar.plain_implicit()
            && !(simple_key && (analysis.empty || analysis.multiline))
            && analysis.allow_block_plain
        {
            return Style::Plain;
        }
        if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
            Style::SingleQuoted
        } else {
            Style::DoubleQuoted
        }
    }

    // Low-level writers.

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break('\n');
        }
        if self.column < indent {
            self.whitespace = true;
            self.out.push_str(&" ".repeat(indent - self.column));
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, br: char) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(br);
    }

    /// Writes scalar text directly (no indicator bookkeeping), as PyYAML's `stream.write`.
    fn write_text(&mut self, text: &[char]) {
        self.column += text.len();
        self.out.extend(text.iter());
    }

    fn write_raw(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_breaks(&mut self, text: &[char]) {
        // A lone '\n' would be folded away when read back, so PyYAML doubles the first one.
        if text.first() == Some(&'\n') {
            self.write_line_break('\n');
        }
        for &br in text {
            self.write_line_break(br);
        }
        self.write_indent();
    }

    fn write_plain(&mut self, text: &[char], split: bool) {
        if self.ctx.root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write_raw(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let mut spaces = false;
        let mut breaks = false;
        let mut start = 0;
        let mut end = 0;
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_text(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                self.write_text(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut start = 0;
        let mut end = 0;
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    // Only a single space between words may become a fold point.
                    if start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_text(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_text(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write_raw("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        let mut end = 0;
        while end <= text.len() {
            let ch = text.get(end).copied();
            let needs_escape = match ch {
                None => true,
                Some(c) => {
                    matches!(
                        c,
                        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
                    ) || !(' '..='~').contains(&c)
                }
            };
            if needs_escape {
                if start < end {
                    self.write_text(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write_raw(&escape(c));
                    start = end + 1;
                }
            }
            // Python computes `column + (end - start) > width` with start possibly end + 1 (just
            // after an escape); rearranged so that nothing goes below zero.
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                && self.column + end > BEST_WIDTH + start
                && split
            {
                if start < end {
                    self.write_text(&text[start..end]);
                    start = end;
                }
                self.write_raw("\\");
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.write_raw("\\");
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

/// Whether a mapping key can be written as `key: value` rather than `? key\n: value`.
fn check_simple_key(key: &Value) -> bool {
    match key {
        Value::Tagged(tagged) => check_simple_key(&tagged.value),
        // Only empty collections (written as `[]`/`{}`) fit on one line.
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(map) => map.is_empty(),
        _ => match represent(key) {
            Some(scalar) => {
                let analysis = analyze_scalar(&scalar.text);
                // PyYAML counts the never-written tag ("!!str") towards the 128-character limit.
                scalar.tag.short().len() + scalar.text.len() < 128
                    && !analysis.empty
                    && !analysis.multiline
            }
            None => false,
        },
    }
}

fn escape(c: char) -> String {
    let short = match c {
        '\0' => "0",
        '\u{07}' => "a",
        '\u{08}' => "b",
        '\t' => "t",
        '\n' => "n",
        '\u{0B}' => "v",
        '\u{0C}' => "f",
        '\r' => "r",
        '\u{1B}' => "e",
        '"' => "\"",
        '\\' => "\\",
        '\u{85}' => "N",
        '\u{A0}' => "_",
        '\u{2028}' => "L",
        '\u{2029}' => "P",
        _ => {
            let code = c as u32;
            return if code <= 0xFF {
                format!("\\x{code:02X}")
            } else if code <= 0xFFFF {
                format!("\\u{code:04X}")
            } else {
                format!("\\U{code:08X}")
            };
        }
    };
    format!("\\{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).expect("test input parses")
    }

    fn map(pairs: Vec<(Value, Value)>) -> Value {
        Value::Mapping(pairs.into_iter().collect())
    }

    fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }

    fn f(x: f64) -> Value {
        Value::Number(x.into())
    }

    // Expected strings below were produced by PyYAML 6.0 with SAM's dumper (the tagged-value
    // case writes what PyYAML prints for the untagged equivalent).

    #[test]
    fn golden_sam_template() {
        let input = yaml(concat!(
            "Description: \"line one\\nline two\\n\"\n",
            "Environment:\n",
            "  Variables:\n",
            "    EMPTY: \"\"\n",
            "    NUL: null\n",
            "    UNI: \"h\u{e9}llo \u{2713}\"\n",
            "    QUOTE: \"it's \\\"quoted\\\"\"\n",
            "    COLON: \"a: b\"\n",
            "    STAR: \"*\"\n",
            "    NUM: \"12\"\n",
            "    FLOAT: 1.5\n",
            "    BOOL: true\n",
            "    HEX: 31\n",
            "    MULTI:\n",
            "      Fn::Sub:\n",
            "        - \"${A}-x\"\n",
            "        - A:\n",
            "            Ref: AWS::Region\n",
            "Long: \"A fairly long description string that goes well beyond eighty characters ",
            "so that we can observe how the YAML writer folds long scalars.\\n\"\n",
            "Policies:\n",
            "  - S3ReadPolicy:\n",
            "      BucketName:\n",
            "        Ref: Bucket\n",
            "J: \"2010-09-09\"\n",
            "I: 12345678901234567890\n",
        ));
        let expected = concat!(
            "Description: 'line one\n",
            "\n",
            "  line two\n",
            "\n",
            "  '\n",
            "Environment:\n",
            "  Variables:\n",
            "    EMPTY: ''\n",
            "    NUL: null\n",
            "    UNI: \"h\\xE9llo \\u2713\"\n",
            "    QUOTE: it's \"quoted\"\n",
            "    COLON: 'a: b'\n",
            "    STAR: '*'\n",
            "    NUM: '12'\n",
            "    FLOAT: 1.5\n",
            "    BOOL: true\n",
            "    HEX: 31\n",
            "    MULTI:\n",
            "      Fn::Sub:\n",
            "      - ${A}-x\n",
            "      - A:\n",
            "          Ref: AWS::Region\n",
            // PyYAML only folds at a space once the column is past 80.
            "Long: 'A fairly long description string that goes well beyond eighty characters so\n",
            "  that we can observe how the YAML writer folds long scalars.\n",
            "\n",
            "  '\n",
            "Policies:\n",
            "- S3ReadPolicy:\n",
            "    BucketName:\n",
            "      Ref: Bucket\n",
            "J: '2010-09-09'\n",
            "I: 12345678901234567890\n",
        );
        assert_eq!(to_sam_yaml(&input), expected);
    }

    #[test]
    fn string_values_are_quoted_like_pyyaml() {
        let cases: &[(&str, &str)] = &[
            ("yes", "v: 'yes'\n"),
            ("No", "v: 'No'\n"),
            ("ON", "v: 'ON'\n"),
            ("off", "v: 'off'\n"),
            ("y", "v: y\n"),
            ("true", "v: 'true'\n"),
            ("Null", "v: 'Null'\n"),
            ("~", "v: '~'\n"),
            ("", "v: ''\n"),
            ("0123", "v: '0123'\n"),
            ("0", "v: '0'\n"),
            ("0abc", "v: '0abc'\n"),
            ("0x1F", "v: '0x1F'\n"),
            ("012_3", "v: '012_3'\n"),
            ("0:30", "v: '0:30'\n"),
            ("12", "v: '12'\n"),
            ("-5", "v: '-5'\n"),
            ("+7", "v: '+7'\n"),
            ("1_000", "v: '1_000'\n"),
            ("1:20", "v: '1:20'\n"),
            ("1:60", "v: 1:60\n"),
            ("190:20:30.15", "v: '190:20:30.15'\n"),
            ("1.5", "v: '1.5'\n"),
            (".5", "v: '.5'\n"),
            ("1.", "v: '1.'\n"),
            ("1e3", "v: 1e3\n"),
            ("1.5e+3", "v: '1.5e+3'\n"),
            ("1.5e3", "v: 1.5e3\n"),
            (".inf", "v: '.inf'\n"),
            ("-.Inf", "v: '-.Inf'\n"),
            (".NaN", "v: '.NaN'\n"),
            ("nan", "v: nan\n"),
            ("2010-09-09", "v: '2010-09-09'\n"),
            ("2010-9-09", "v: 2010-9-09\n"),
            (
                "2001-12-14t21:59:43.10-05:00",
                "v: '2001-12-14t21:59:43.10-05:00'\n",
            ),
            (
                "2001-12-14 21:59:43.10 -5",
                "v: '2001-12-14 21:59:43.10 -5'\n",
            ),
            ("2001-12-14  21:59:43 Z", "v: '2001-12-14  21:59:43 Z'\n"),
            ("2001-12-14 21:59:43 Z x", "v: 2001-12-14 21:59:43 Z x\n"),
            ("<<", "v: '<<'\n"),
            ("=", "v: '='\n"),
            ("!", "v: '!'\n"),
            ("*", "v: '*'\n"),
            ("&", "v: '&'\n"),
            ("*a", "v: '*a'\n"),
            ("%", "v: '%'\n"),
            ("@", "v: '@'\n"),
            ("`", "v: '`'\n"),
            ("{", "v: '{'\n"),
            ("[", "v: '['\n"),
            (",", "v: ','\n"),
            ("?", "v: '?'\n"),
            ("|", "v: '|'\n"),
            (">", "v: '>'\n"),
            ("#", "v: '#'\n"),
            ("-", "v: '-'\n"),
            ("---", "v: '---'\n"),
            ("... x", "v: '... x'\n"),
            (":", "v: ':'\n"),
            ("a:", "v: 'a:'\n"),
            ("a: b", "v: 'a: b'\n"),
            ("a:b", "v: a:b\n"),
            ("a #b", "v: 'a #b'\n"),
            ("a#b", "v: a#b\n"),
            ("- x", "v: '- x'\n"),
            ("-x", "v: -x\n"),
            ("? x", "v: '? x'\n"),
            ("?x", "v: ?x\n"),
            ("a,b", "v: a,b\n"),
            ("a[b]", "v: a[b]\n"),
            ("it's", "v: it's\n"),
            ("'q'", "v: '''q'''\n"),
            ("\"dq\"", "v: '\"dq\"'\n"),
            (" lead", "v: ' lead'\n"),
            ("trail ", "v: 'trail '\n"),
            ("multi\nline", "v: 'multi\n\n  line'\n"),
            ("a \nb", "v: \"a \\nb\"\n"),
            ("a\n b", "v: \"a\\n b\"\n"),
            ("\n", "v: '\n\n  '\n"),
            ("\t", "v: \"\\t\"\n"),
            ("a\rb", "v: \"a\\rb\"\n"),
            (
                "\u{0}\u{7}\u{8}\u{b}\u{c}\u{1b}\u{7f}",
                "v: \"\\0\\a\\b\\v\\f\\e\\x7F\"\n",
            ),
            (
                "\u{85}\u{a0}\u{2028}\u{2029}\u{feff}",
                "v: \"\\N\\_\\L\\P\\uFEFF\"\n",
            ),
            (
                "h\u{e9}llo \u{2713} \u{1f600}",
                "v: \"h\\xE9llo \\u2713 \\U0001F600\"\n",
            ),
            ("${AWS::StackName}", "v: ${AWS::StackName}\n"),
            ("arn:aws:s3:::bucket/*", "v: arn:aws:s3:::bucket/*\n"),
            ("a\\b", "v: a\\b\n"),
        ];
        for (input, expected) in cases {
            let value = map(vec![(s("v"), s(input))]);
            assert_eq!(to_sam_yaml(&value), *expected, "input {input:?}");
        }
    }

    #[test]
    fn scalar_types_and_keys() {
        let value = map(vec![
            (Value::Number(5.into()), s("a")),
            (
                f(1.5),
                Value::Sequence(vec![
                    f(1.0),
                    f(1e20),
                    f(3.0),
                    f(-0.0),
                    f(f64::NAN),
                    f(f64::NEG_INFINITY),
                    f(1e-5),
                    f(0.1),
                ]),
            ),
            (Value::Bool(true), Value::Null),
            (Value::Null, Value::Bool(false)),
            (s(""), s("x")),
            (s("multi\nkey"), s("v")),
            (s("0123"), s("0abc")),
        ]);
        let expected = concat!(
            "5: a\n",
            "1.5:\n",
            "- 1.0\n",
            "- 1.0e+20\n",
            "- 3.0\n",
            "- -0.0\n",
            "- .nan\n",
            "- -.inf\n",
            "- 1.0e-05\n",
            "- 0.1\n",
            "true: null\n",
            "null: false\n",
            "? ''\n",
            ": x\n",
            "? 'multi\n",
            "\n",
            "  key'\n",
            ": v\n",
            "'0123': '0abc'\n",
        );
        assert_eq!(to_sam_yaml(&value), expected);
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.0, "0.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1.0e+16"),
            (1e-4, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (123_456_789.123, "123456789.123"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (5e-324, "5.0e-324"),
            (f64::INFINITY, ".inf"),
            // An exact tie between two shortest candidates: Python rounds half to even.
            (2_055_194_078_425_021.2, "2055194078425021.2"),
        ];
        for (x, expected) in cases {
            assert_eq!(represent_float(x), expected, "{x:e}");
        }
    }

    #[test]
    fn root_scalars_and_nested_sequences() {
        assert_eq!(to_sam_yaml(&s("foo")), "foo\n...\n");
        assert_eq!(to_sam_yaml(&Value::Number(5.into())), "5\n...\n");
        assert_eq!(to_sam_yaml(&s("")), "''\n");
        assert_eq!(to_sam_yaml(&s("0")), "'0'\n");
        let nested = yaml("[[[a]], {}, [], [{}], {a: []}]");
        assert_eq!(
            to_sam_yaml(&nested),
            "- - - a\n- {}\n- []\n- - {}\n- a: []\n"
        );
    }

    #[test]
    fn long_scalars_fold_in_every_style() {
        let long = format!("{}end", "word ".repeat(30));
        let value = map(vec![(
            s("a"),
            map(vec![(
                s("b"),
                Value::Sequence(vec![
                    s(&long),
                    s(&format!("{long}\n")),
                    s(&"\u{e9} ".repeat(50)),
                    s(&"x'y ".repeat(30)),
                ]),
            )]),
        )]);
        let expected = concat!(
            "a:\n",
            "  b:\n",
            "  - word word word word word word word word word word word word word word word word\n",
            "    word word word word word word word word word word word word word word end\n",
            "  - 'word word word word word word word word word word word word word word word word\n",
            "    word word word word word word word word word word word word word word end\n",
            "\n",
            "    '\n",
            "  - \"\\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n",
            "    \\ \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n",
            "    \\ \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9 \\xE9\\\n",
            "    \\ \\xE9 \\xE9 \"\n",
            "  - 'x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y\n",
            "    x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y x''y '\n",
        );
        assert_eq!(to_sam_yaml(&value), expected);
    }

    #[test]
    fn long_keys_switch_to_explicit_form() {
        // The limit is 128 including the implicit "!!str" tag, so 122 characters still fit.
        let short = "k".repeat(122);
        let long = "k".repeat(123);
        let value = map(vec![(s(&short), Value::Number(1.into()))]);
        assert_eq!(to_sam_yaml(&value), format!("{short}: 1\n"));
        let value = map(vec![(s(&long), Value::Number(1.into()))]);
        assert_eq!(to_sam_yaml(&value), format!("? {long}\n: 1\n"));
    }

    #[test]
    fn tagged_values_write_their_inner_value() {
        let value = yaml("A: !Ref Bucket\nB: !GetAtt [X, Arn]\n");
        assert_eq!(to_sam_yaml(&value), "A: Bucket\nB:\n- X\n- Arn\n");
    }
}
