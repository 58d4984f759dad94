//! Recursive-descent parser for rule SQL.
//!
//! `select` handles the statement skeleton (fields, aliases, FROM, WHERE); `expr` handles
//! expressions by precedence climbing. Recursion depth is capped so hostile input yields an
//! error rather than a stack overflow.

mod expr;
mod select;

use crate::ast::{Pos, Statement};
use crate::error::ParseError;
use crate::lexer::{Tok, Token, tokenize};

/// Deepest expression nesting accepted. Each parenthesis, unary operator, function call or
/// operator in a chain counts one level; the evaluator recurses as deep as the tree.
pub(crate) const MAX_DEPTH: usize = 100;

/// Words that end an expression or field and so cannot be used as a bare alias.
const RESERVED: &[&str] = &[
    "select", "from", "where", "as", "and", "or", "not", "in", "foreach", "do", "incase", "case",
    "when", "then", "else", "end", "div", "mod",
];

pub(crate) fn parse_statement(sql: &str) -> Result<Statement, ParseError> {
    let tokens = tokenize(sql)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    parser.statement()
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn token(&self) -> Option<&Token> {
        self.tokens.get(self.pos).or_else(|| self.tokens.last())
    }

    fn peek(&self) -> &Tok {
        self.token().map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        self.tokens
            .get(self.pos + offset)
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn here(&self) -> Pos {
        self.token().map_or(Pos { line: 1, column: 1 }, |t| Pos {
            line: t.line,
            column: t.column,
        })
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), ParseError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        is_keyword(self.peek(), keyword)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if self.is_keyword(keyword) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), ParseError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(&keyword.to_ascii_uppercase()))
        }
    }

    /// "expected X, found Y" at the current token.
    fn unexpected(&self, expected: &str) -> ParseError {
        let pos = self.here();
        ParseError::new(
            pos.line,
            pos.column,
            format!("expected {expected}, found {}", self.peek()),
        )
    }

    fn error_at(pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError::new(pos.line, pos.column, message)
    }

    /// Counts one level of nesting; callers undo it with [`Parser::leave`].
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Self::error_at(
                self.here(),
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }
}

fn is_keyword(tok: &Tok, keyword: &str) -> bool {
    matches!(tok, Tok::Ident(name) if name.eq_ignore_ascii_case(keyword))
}

fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|k| name.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests;
