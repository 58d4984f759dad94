//! Expressions, by precedence from loosest to tightest:
//! OR < AND < NOT < comparisons and IN < `+ -` < `* / div mod` < unary `-` < primary.

use super::{Parser, is_keyword, is_reserved};
use crate::ast::{BinaryOp, Expr, LogicalOp, Segment, VarPath};
use crate::error::ParseError;
use crate::lexer::Tok;
use crate::value::Value;

impl Parser {
    pub(super) fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let result = self.or_expr();
        self.leave(1);
        result
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        self.logical_chain("or", LogicalOp::Or, Self::and_expr)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        self.logical_chain("and", LogicalOp::And, Self::not_expr)
    }

    fn logical_chain(
        &mut self,
        keyword: &str,
        op: LogicalOp,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut lhs = operand(self)?;
        let mut levels = 0;
        let result = loop {
            let pos = self.here();
            if !self.eat_keyword(keyword) {
                break Ok(lhs);
            }
            levels += 1;
            if let Err(e) = self.enter() {
                break Err(e);
            }
            match operand(self) {
                Ok(rhs) => {
                    lhs = Expr::Logical {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                        pos,
                    }
                }
                Err(e) => break Err(e),
            }
        };
        self.leave(levels);
        result
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        let pos = self.here();
        if self.eat_keyword("not") {
            self.enter()?;
            let inner = self.not_expr();
            self.leave(1);
            return Ok(Expr::Not(Box::new(inner?), pos));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.additive()?;
        let pos = self.here();
        let op = match self.peek() {
            Tok::Eq => BinaryOp::Eq,
            Tok::NotEq => BinaryOp::NotEq,
            Tok::Lt => BinaryOp::Lt,
            Tok::Gt => BinaryOp::Gt,
            Tok::Le => BinaryOp::Le,
            Tok::Ge => BinaryOp::Ge,
            Tok::TopicMatch => BinaryOp::TopicMatch,
            tok if is_keyword(tok, "in") => {
                self.advance();
                let list = self.in_list()?;
                return Ok(Expr::In {
                    expr: Box::new(lhs),
                    list,
                    pos,
                });
            }
            tok if is_keyword(tok, "not") && is_keyword(self.peek_at(1), "in") => {
                self.advance();
                self.advance();
                let list = self.in_list()?;
                return Ok(Expr::Not(
                    Box::new(Expr::In {
                        expr: Box::new(lhs),
                        list,
                        pos,
                    }),
                    pos,
                ));
            }
            _ => return Ok(lhs),
        };
        self.advance();
        let rhs = self.additive()?;
        Ok(Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn in_list(&mut self) -> Result<Vec<Expr>, ParseError> {
        self.expect(&Tok::LParen, "`(` after IN")?;
        self.comma_list(&Tok::RParen)
    }

    /// Comma-separated expressions up to and including `close`.
    pub(super) fn comma_list(&mut self, close: &Tok) -> Result<Vec<Expr>, ParseError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(&Tok::Comma, &format!("`,` or {close}"))?;
        }
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(Self::multiplicative, |p| match p.peek() {
            Tok::Plus => Some(BinaryOp::Add),
            Tok::Minus => Some(BinaryOp::Sub),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        self.binary_chain(Self::unary, |p| match p.peek() {
            Tok::Star => Some(BinaryOp::Mul),
            Tok::Slash => Some(BinaryOp::Div),
            tok if is_keyword(tok, "div") => Some(BinaryOp::IntDiv),
            tok if is_keyword(tok, "mod") => Some(BinaryOp::Rem),
            _ => None,
        })
    }

    /// A left-associative chain; every operator adds a level of tree depth, so it counts
    /// against the nesting limit like parentheses do.
    fn binary_chain(
        &mut self,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
        operator: fn(&Self) -> Option<BinaryOp>,
    ) -> Result<Expr, ParseError> {
        let mut lhs = operand(self)?;
        let mut levels = 0;
        let result = loop {
            let Some(op) = operator(self) else {
                break Ok(lhs);
            };
            self.advance();
            levels += 1;
            if let Err(e) = self.enter() {
                break Err(e);
            }
            match operand(self) {
                Ok(rhs) => {
                    lhs = Expr::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    }
                }
                Err(e) => break Err(e),
            }
        };
        self.leave(levels);
        result
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let negate = match self.peek() {
            Tok::Minus => true,
            Tok::Plus => false,
            _ => return self.primary(),
        };
        self.advance();
        self.enter()?;
        let inner = self.unary();
        self.leave(1);
        let inner = inner?;
        Ok(match (negate, inner) {
            (false, e) => e,
            // Fold literals so `-1` is a constant (needed for indexes like `a[-1]`).
            (true, Expr::Const(Value::Int(i))) => Expr::Const(Value::Int(i.wrapping_neg())),
            (true, Expr::Const(Value::Float(f))) => Expr::Const(Value::Float(-f)),
            (true, e) => Expr::Neg(Box::new(e)),
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.here();
        match self.peek().clone() {
            Tok::Int(i) => {
                self.advance();
                Ok(Expr::Const(Value::Int(i)))
            }
            Tok::Float(f) => {
                self.advance();
                Ok(Expr::Const(Value::Float(f)))
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Expr::Const(Value::Str(s)))
            }
            Tok::LParen => {
                self.advance();
                let inner = self.expr()?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::LBracket => {
                self.advance();
                self.list_literal()
            }
            Tok::Quoted(name) => {
                self.advance();
                self.path(name)
            }
            Tok::Ident(name) if name == "true" || name == "false" => {
                self.advance();
                Ok(Expr::Const(Value::Bool(name == "true")))
            }
            Tok::Ident(name) if name.eq_ignore_ascii_case("case") => {
                self.advance();
                self.case_expr()
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen => {
                self.advance();
                self.advance();
                let args = self.comma_list(&Tok::RParen)?;
                Ok(Expr::Call {
                    name: name.to_ascii_lowercase(),
                    args,
                    pos,
                })
            }
            Tok::Ident(name) if !is_reserved(&name) => {
                self.advance();
                self.path(name)
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `[a, b, c]` or `[1..4]`, after the `[`.
    fn list_literal(&mut self) -> Result<Expr, ParseError> {
        if let Some(begin) = self.range_start() {
            let end = self.signed_int("an integer after `..`")?;
            self.expect(&Tok::RBracket, "`]`")?;
            return Ok(Expr::Range(begin, end));
        }
        Ok(Expr::List(self.comma_list(&Tok::RBracket)?))
    }

    /// A variable followed by `.key`, `.'key'`, `[index]` or a final `[begin..end]`.
    fn path(&mut self, root: String) -> Result<Expr, ParseError> {
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    let key = match self.advance() {
                        Tok::Ident(k) | Tok::Quoted(k) | Tok::Str(k) => k,
                        Tok::Int(i) => i.to_string(),
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return Err(self.unexpected("a key after `.`"));
                        }
                    };
                    segments.push(Segment::Key(key));
                }
                Tok::LBracket => {
                    self.advance();
                    if let Some(begin) = self.range_start() {
                        let end = self.signed_int("an integer after `..`")?;
                        self.expect(&Tok::RBracket, "`]`")?;
                        let base = Expr::Var(VarPath { root, segments });
                        return Ok(Expr::GetRange {
                            base: Box::new(base),
                            begin,
                            end,
                        });
                    }
                    let index = self.expr()?;
                    self.expect(&Tok::RBracket, "`]`")?;
                    segments.push(Segment::Index(Box::new(index)));
                }
                _ => return Ok(Expr::Var(VarPath { root, segments })),
            }
        }
    }

    /// Consumes `begin ..` when the next tokens are an integer literal followed by `..`.
    fn range_start(&mut self) -> Option<i64> {
        let (begin, len) = match (self.peek_at(0), self.peek_at(1)) {
            (Tok::Int(i), _) => (*i, 1),
            (Tok::Minus, Tok::Int(i)) => (i.wrapping_neg(), 2),
            _ => return None,
        };
        if *self.peek_at(len) != Tok::DotDot {
            return None;
        }
        for _ in 0..=len {
            self.advance();
        }
        Some(begin)
    }

    pub(super) fn signed_int(&mut self, what: &str) -> Result<i64, ParseError> {
        let negative = self.eat(&Tok::Minus);
        match self.peek() {
            Tok::Int(i) => {
                let i = *i;
                self.advance();
                Ok(if negative { i.wrapping_neg() } else { i })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// `CASE [subject] WHEN .. THEN .. [ELSE ..] END`, after `CASE`.
    fn case_expr(&mut self) -> Result<Expr, ParseError> {
        let subject = if self.is_keyword("when") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_keyword("when") {
            let condition = self.expr()?;
            self.expect_keyword("then")?;
            whens.push((condition, self.expr()?));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let otherwise = if self.eat_keyword("else") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_keyword("end")?;
        Ok(Expr::Case {
            subject,
            whens,
            otherwise,
        })
    }
}
