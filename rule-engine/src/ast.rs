//! Syntax tree produced by the parser, before names are resolved.

use crate::value::Value;

/// A position in the SQL text (1-based), kept on nodes that can fail to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) fields: Vec<Field>,
    pub(crate) foreach: Option<Foreach>,
    pub(crate) from: Vec<(String, Pos)>,
    pub(crate) condition: Option<Expr>,
}

/// The extra clauses of a FOREACH statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Foreach {
    pub(crate) do_fields: Vec<Field>,
    pub(crate) incase: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Star,
    Expr { expr: Expr, alias: Option<Alias> },
}

/// An `AS` target: a name optionally followed by keys and indexes (`a.b`, `x[2].y`, `c[-0]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alias {
    pub(crate) root: String,
    pub(crate) segments: Vec<AliasSegment>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AliasSegment {
    Key(String),
    /// 1-based from the front, negative from the back; 0 writes nothing (as in EMQX).
    Index(i64),
    /// `[-0]`: append to the list.
    Append,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Const(Value),
    Var(VarPath),
    List(Vec<Expr>),
    /// `[1..4]`: the list of integers from 1 to 4.
    Range(i64, i64),
    /// `path[1..4]`: a slice of a list.
    GetRange {
        base: Box<Expr>,
        begin: i64,
        end: i64,
    },
    Call {
        name: String,
        args: Vec<Expr>,
        pos: Pos,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>, Pos),
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        pos: Pos,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        pos: Pos,
    },
    Case {
        subject: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VarPath {
    pub(crate) root: String,
    pub(crate) segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    Key(String),
    Index(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    IntDiv,
    Rem,
    Eq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    TopicMatch,
}

impl BinaryOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::IntDiv => "div",
            BinaryOp::Rem => "mod",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Gt => ">",
            BinaryOp::Le => "<=",
            BinaryOp::Ge => ">=",
            BinaryOp::TopicMatch => "=~",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicalOp {
    And,
    Or,
}
