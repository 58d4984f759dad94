//! Tokeniser for rule SQL.
//!
//! Positions are tracked per token (1-based line and character column) so that parse errors
//! can point at the offending text.

use std::fmt;

use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare name; keywords are bare names that the parser recognises case-insensitively.
    Ident(String),
    /// A double-quoted name: a variable, a topic filter, never a keyword.
    Quoted(String),
    /// A single-quoted string literal (no escapes, as in EMQX).
    Str(String),
    Int(i64),
    Float(f64),
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    DotDot,
    Star,
    Plus,
    Minus,
    Slash,
    Eq,
    TopicMatch,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Quoted(s) => write!(f, "\"{s}\""),
            Tok::Str(s) => write!(f, "'{s}'"),
            Tok::Int(i) => write!(f, "{i}"),
            Tok::Float(x) => write!(f, "{x}"),
            Tok::Comma => f.write_str("`,`"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::LBracket => f.write_str("`[`"),
            Tok::RBracket => f.write_str("`]`"),
            Tok::Dot => f.write_str("`.`"),
            Tok::DotDot => f.write_str("`..`"),
            Tok::Star => f.write_str("`*`"),
            Tok::Plus => f.write_str("`+`"),
            Tok::Minus => f.write_str("`-`"),
            Tok::Slash => f.write_str("`/`"),
            Tok::Eq => f.write_str("`=`"),
            Tok::TopicMatch => f.write_str("`=~`"),
            Tok::NotEq => f.write_str("`!=`"),
            Tok::Lt => f.write_str("`<`"),
            Tok::Gt => f.write_str("`>`"),
            Tok::Le => f.write_str("`<=`"),
            Tok::Ge => f.write_str("`>=`"),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Splits SQL into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Token>, ParseError> {
    Lexer {
        chars: sql.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
    }
    .run()
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn run(mut self) -> Result<Vec<Token>, ParseError> {
        let mut tokens = Vec::new();
        loop {
            self.skip_trivia();
            let (line, column) = (self.line, self.column);
            let Some(c) = self.peek() else {
                tokens.push(Token {
                    tok: Tok::Eof,
                    line,
                    column,
                });
                return Ok(tokens);
            };
            let err = |msg: String| ParseError::new(line, column, msg);
            let tok = match c {
                'a'..='z' | 'A'..='Z' => Tok::Ident(self.take_while(is_name_char)),
                '0'..='9' => self.number().map_err(err)?,
                '\'' => Tok::Str(
                    self.quoted('\'')
                        .ok_or_else(|| err("unterminated string literal".into()))?,
                ),
                '"' => Tok::Quoted(
                    self.quoted('"')
                        .ok_or_else(|| err("unterminated quoted name".into()))?,
                ),
                '`' => {
                    return Err(err(
                        "backticks are not allowed; quote names with double quotes".into(),
                    ));
                }
                _ => self
                    .symbol()
                    .ok_or_else(|| err(format!("unexpected character `{c}`")))?,
            };
            tokens.push(Token { tok, line, column });
        }
    }

    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('-') if self.peek_at(1) == Some('-') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|c| pred(*c)) {
            s.push(c);
            self.bump();
        }
        s
    }

    fn quoted(&mut self, quote: char) -> Option<String> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump()? {
                c if c == quote => return Some(s),
                c => s.push(c),
            }
        }
    }

    /// INT or APPROX (`1.5`, `1.5e3`, `1e3`). A `.` only starts a fraction when a digit
    /// follows, so that ranges like `1..4` lex as INT `..` INT.
    fn number(&mut self) -> Result<Tok, String> {
        let mut text = self.take_while(|c| c.is_ascii_digit());
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            text.push('.');
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = matches!(self.peek_at(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                text.push('e');
                self.bump();
                if sign {
                    text.extend(self.bump());
                }
                text.push_str(&self.take_while(|c| c.is_ascii_digit()));
            }
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            return Err(format!(
                "malformed number `{text}{}`",
                self.peek().unwrap_or_default()
            ));
        }
        if is_float {
            text.parse()
                .map(Tok::Float)
                .map_err(|_| format!("malformed number `{text}`"))
        } else {
            // Erlang integers are unbounded; beyond i64 we keep the magnitude as a float.
            Ok(text
                .parse()
                .map(Tok::Int)
                .unwrap_or_else(|_| Tok::Float(text.parse().unwrap_or(f64::INFINITY))))
        }
    }

    fn symbol(&mut self) -> Option<Tok> {
        let c = self.peek()?;
        let next = self.peek_at(1);
        let (tok, len) = match (c, next) {
            ('=', Some('~')) => (Tok::TopicMatch, 2),
            ('!', Some('=')) => (Tok::NotEq, 2),
            ('<', Some('>')) => (Tok::NotEq, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('.', Some('.')) => (Tok::DotDot, 2),
            ('=', _) => (Tok::Eq, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('.', _) => (Tok::Dot, 1),
            ('*', _) => (Tok::Star, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('/', _) => (Tok::Slash, 1),
            _ => return None,
        };
        for _ in 0..len {
            self.bump();
        }
        Some(tok)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '@' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(sql: &str) -> Vec<Tok> {
        tokenize(sql).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn names_strings_and_quoted_names() {
        assert_eq!(
            toks(r#"SELECT a_b$1 'x y' "t/#""#),
            vec![
                Tok::Ident("SELECT".into()),
                Tok::Ident("a_b$1".into()),
                Tok::Str("x y".into()),
                Tok::Quoted("t/#".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers_and_ranges() {
        assert_eq!(toks("1.5e3"), vec![Tok::Float(1500.0), Tok::Eof]);
        assert_eq!(toks("2e-1"), vec![Tok::Float(0.2), Tok::Eof]);
        assert_eq!(
            toks("a[1..4]"),
            vec![
                Tok::Ident("a".into()),
                Tok::LBracket,
                Tok::Int(1),
                Tok::DotDot,
                Tok::Int(4),
                Tok::RBracket,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            toks("= =~ != <> < > <= >="),
            vec![
                Tok::Eq,
                Tok::TopicMatch,
                Tok::NotEq,
                Tok::NotEq,
                Tok::Lt,
                Tok::Gt,
                Tok::Le,
                Tok::Ge,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_and_positions() {
        let t = tokenize("-- hello\n  x").unwrap();
        assert_eq!(t[0].tok, Tok::Ident("x".into()));
        assert_eq!((t[0].line, t[0].column), (2, 3));
    }

    #[test]
    fn errors() {
        assert!(tokenize("`a`").unwrap_err().message.contains("backticks"));
        assert!(tokenize("'open").is_err());
        assert!(tokenize("12abc").is_err());
        assert_eq!(tokenize("a ? b").unwrap_err().column, 3);
    }
}
