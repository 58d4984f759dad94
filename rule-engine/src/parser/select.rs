//! Statement skeleton: `SELECT`/`FOREACH` fields and aliases, `DO`, `INCASE`, `FROM`, `WHERE`.

use super::{Parser, is_reserved};
use crate::ast::{Alias, AliasSegment, Field, Foreach, Statement};
use crate::error::ParseError;
use crate::lexer::Tok;

impl Parser {
    pub(super) fn statement(&mut self) -> Result<Statement, ParseError> {
        let (fields, foreach) = if self.eat_keyword("select") {
            (self.fields()?, None)
        } else if self.eat_keyword("foreach") {
            let fields = self.fields()?;
            let do_fields = if self.eat_keyword("do") {
                self.fields()?
            } else {
                Vec::new()
            };
            let incase = if self.eat_keyword("incase") {
                Some(self.expr()?)
            } else {
                None
            };
            (fields, Some(Foreach { do_fields, incase }))
        } else {
            return Err(self.unexpected("SELECT or FOREACH"));
        };
        self.expect_keyword("from")?;
        let from = self.sources()?;
        let condition = if self.eat_keyword("where") {
            Some(self.expr()?)
        } else {
            None
        };
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected("end of statement"));
        }
        Ok(Statement {
            fields,
            foreach,
            from,
            condition,
        })
    }

    fn fields(&mut self) -> Result<Vec<Field>, ParseError> {
        let mut fields = vec![self.field()?];
        while self.eat(&Tok::Comma) {
            fields.push(self.field()?);
        }
        Ok(fields)
    }

    fn field(&mut self) -> Result<Field, ParseError> {
        if self.eat(&Tok::Star) {
            return Ok(Field::Star);
        }
        let expr = self.expr()?;
        let alias = if self.eat_keyword("as") {
            Some(self.alias()?)
        } else {
            match self.peek() {
                Tok::Ident(name) if !is_reserved(name) => Some(self.alias()?),
                Tok::Quoted(_) => Some(self.alias()?),
                _ => None,
            }
        };
        Ok(Field::Expr { expr, alias })
    }

    fn alias(&mut self) -> Result<Alias, ParseError> {
        let root = match self.peek().clone() {
            Tok::Ident(name) if !is_reserved(&name) => name,
            Tok::Quoted(name) | Tok::Str(name) => name,
            _ => return Err(self.unexpected("an alias name")),
        };
        self.advance();
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    match self.advance() {
                        Tok::Ident(k) | Tok::Quoted(k) | Tok::Str(k) => {
                            segments.push(AliasSegment::Key(k))
                        }
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return Err(self.unexpected("a key after `.`"));
                        }
                    }
                }
                Tok::LBracket => {
                    self.advance();
                    let negative = *self.peek() == Tok::Minus;
                    let index = self.signed_int("an integer index")?;
                    self.expect(&Tok::RBracket, "`]`")?;
                    segments.push(if negative && index == 0 {
                        AliasSegment::Append
                    } else {
                        AliasSegment::Index(index)
                    });
                }
                _ => return Ok(Alias { root, segments }),
            }
        }
    }

    fn sources(&mut self) -> Result<Vec<(String, crate::ast::Pos)>, ParseError> {
        let mut sources = Vec::new();
        loop {
            let pos = self.here();
            match self.peek().clone() {
                Tok::Quoted(s) | Tok::Str(s) => {
                    self.advance();
                    sources.push((s, pos));
                }
                _ => return Err(self.unexpected("a quoted topic filter or source")),
            }
            if !self.eat(&Tok::Comma) {
                return Ok(sources);
            }
        }
    }
}
