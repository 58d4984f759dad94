//! Compiles the syntax tree into an evaluation plan: function names become function
//! pointers, column names are resolved, arities and operator positions are checked. Done
//! once per rule so nothing is looked up by name per message.

use crate::analysis;
use crate::ast::{self, AliasSegment, BinaryOp, Field, LogicalOp, Pos, Segment, Statement};
use crate::columns::Column;
use crate::error::ParseError;
use crate::functions::{self, Function};
use crate::value::{Key, Value};

#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) fields: Vec<PlanField>,
    pub(crate) foreach: Option<PlanForeach>,
    pub(crate) condition: Option<Expr>,
    /// `SELECT *` with no WHERE: the row is a view of the event, made without evaluation.
    pub(crate) select_star_only: bool,
    /// Top-level payload keys the rule can read; `None` means decode everything.
    pub(crate) payload_keys: Option<Vec<Key>>,
}

#[derive(Debug)]
pub(crate) struct PlanForeach {
    pub(crate) do_fields: Vec<PlanField>,
    pub(crate) incase: Option<Expr>,
    /// The name each collected item is bound to: the last field's alias, or `item`.
    pub(crate) item_name: String,
}

#[derive(Debug)]
pub(crate) enum PlanField {
    Star,
    Expr {
        expr: Expr,
        target: Target,
        /// Whether later fields read this alias, so it must be bound for them.
        bind: bool,
    },
}

/// Where a field's value is written in the row (and in the scope later fields see).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// A key of the output row, shared by every row the rule builds.
    pub(crate) root: Key,
    pub(crate) segments: Vec<AliasSegment>,
}

#[derive(Debug)]
pub(crate) enum Expr {
    Const(Value),
    Var(Var),
    List(Vec<Expr>),
    Range(i64, i64),
    GetRange {
        base: Box<Expr>,
        begin: i64,
        end: i64,
    },
    Call {
        function: &'static Function,
        args: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    Case {
        subject: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
}

#[derive(Debug)]
pub(crate) struct Var {
    pub(crate) root: String,
    pub(crate) column: Option<Column>,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug)]
pub(crate) enum Step {
    Key(String),
    Index(i64),
    /// An index computed from an expression (`a[b]`).
    DynIndex(Expr),
}

/// Whether an expression sits where EMQX accepts only conditions (WHERE, INCASE, WHEN):
/// AND, OR, NOT and IN are rejected elsewhere, as EMQX cannot evaluate them there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Condition,
    Value,
}

pub(crate) fn compile(statement: Statement) -> Result<Plan, ParseError> {
    let mut compiler = Compiler { ephemeral: 0 };
    let item_name = foreach_item_name(&statement.fields);
    let fields = compiler.fields(statement.fields)?;
    let foreach = match statement.foreach {
        None => None,
        Some(foreach) => Some(PlanForeach {
            do_fields: compiler.fields(foreach.do_fields)?,
            incase: foreach
                .incase
                .map(|e| compiler.expr(e, Position::Condition))
                .transpose()?,
            item_name,
        }),
    };
    let condition = statement
        .condition
        .map(|e| compiler.expr(e, Position::Condition))
        .transpose()?;
    let select_star_only =
        foreach.is_none() && condition.is_none() && matches!(fields.as_slice(), [PlanField::Star]);
    let mut plan = Plan {
        fields,
        foreach,
        condition,
        select_star_only,
        payload_keys: None,
    };
    plan.payload_keys = analysis::payload_keys(&plan);
    Ok(plan)
}

/// FOREACH names each item after the last field's `AS` name; without one it is `item`, even
/// when the field is a plain column (`FOREACH payload`), as in EMQX's `select_and_collect`.
fn foreach_item_name(fields: &[Field]) -> String {
    match fields.last() {
        Some(Field::Expr {
            alias: Some(alias), ..
        }) if alias.segments.is_empty() => alias.root.clone(),
        _ => "item".to_owned(),
    }
}

struct Compiler {
    /// Numbers names of unaliased computed fields so they do not overwrite each other.
    ephemeral: usize,
}

impl Compiler {
    fn fields(&mut self, fields: Vec<Field>) -> Result<Vec<PlanField>, ParseError> {
        fields
            .into_iter()
            .map(|field| match field {
                Field::Star => Ok(PlanField::Star),
                Field::Expr { expr, alias } => {
                    let target = match alias {
                        Some(alias) => Target {
                            root: alias.root.into(),
                            segments: alias.segments,
                        },
                        None => self.implicit_target(&expr),
                    };
                    Ok(PlanField::Expr {
                        expr: self.expr(expr, Position::Value)?,
                        target,
                        bind: false,
                    })
                }
            })
            .collect::<Result<Vec<_>, ParseError>>()
            .map(mark_bindings)
    }

    /// EMQX names an unaliased field after its variable path (so `payload.x[2]` nests as
    /// `{"payload":{"x":[..]}}`), after a string constant's text, or else ephemerally.
    fn implicit_target(&mut self, expr: &ast::Expr) -> Target {
        let path = match expr {
            ast::Expr::Var(var) => Some(var),
            ast::Expr::GetRange { base, .. } => match base.as_ref() {
                ast::Expr::Var(var) => Some(var),
                _ => None,
            },
            ast::Expr::Const(Value::Str(s)) => {
                return Target {
                    root: s.as_str().into(),
                    segments: Vec::new(),
                };
            }
            _ => None,
        };
        if let Some(var) = path {
            let segments: Option<Vec<AliasSegment>> = var
                .segments
                .iter()
                .map(|segment| match segment {
                    Segment::Key(k) => Some(AliasSegment::Key(k.clone())),
                    Segment::Index(index) => match index.as_ref() {
                        ast::Expr::Const(Value::Int(i)) => Some(AliasSegment::Index(*i)),
                        _ => None,
                    },
                })
                .collect();
            if let Some(segments) = segments {
                return Target {
                    root: var.root.as_str().into(),
                    segments,
                };
            }
        }
        self.ephemeral += 1;
        let kind = match expr {
            ast::Expr::Call { name, .. } => format!("fun_{name}"),
            ast::Expr::Const(_) => "const".to_owned(),
            ast::Expr::List(_) | ast::Expr::Range(..) => "list".to_owned(),
            ast::Expr::Case { .. } => "case".to_owned(),
            _ => "op".to_owned(),
        };
        Target {
            root: format!("_v_{kind}_{}", self.ephemeral).into(),
            segments: Vec::new(),
        }
    }

    fn boxed(&mut self, expr: ast::Expr, position: Position) -> Result<Box<Expr>, ParseError> {
        self.expr(expr, position).map(Box::new)
    }

    fn expr(&mut self, expr: ast::Expr, position: Position) -> Result<Expr, ParseError> {
        Ok(match expr {
            ast::Expr::Const(v) => Expr::Const(v),
            ast::Expr::Var(var) => Expr::Var(self.var(var)?),
            ast::Expr::List(items) => Expr::List(self.exprs(items, Position::Value)?),
            ast::Expr::Range(begin, end) => Expr::Range(begin, end),
            ast::Expr::GetRange { base, begin, end } => Expr::GetRange {
                base: self.boxed(*base, Position::Value)?,
                begin,
                end,
            },
            ast::Expr::Call { name, args, pos } => {
                let function = functions::lookup(&name).ok_or_else(|| {
                    let message = match functions::omitted_reason(&name) {
                        Some(why) => format!("function `{name}` is not available: {why}"),
                        None => format!("unknown function `{name}`"),
                    };
                    error(pos, message)
                })?;
                if args.len() < function.min_args || args.len() > function.max_args {
                    return Err(error(pos, arity_message(function, args.len())));
                }
                Expr::Call {
                    function,
                    args: self.exprs(args, Position::Value)?,
                }
            }
            ast::Expr::Neg(inner) => Expr::Neg(self.boxed(*inner, Position::Value)?),
            ast::Expr::Not(inner, pos) => {
                condition_only(position, pos, "NOT")?;
                Expr::Not(self.boxed(*inner, Position::Condition)?)
            }
            ast::Expr::Binary { op, lhs, rhs } => Expr::Binary {
                op,
                lhs: self.boxed(*lhs, Position::Value)?,
                rhs: self.boxed(*rhs, Position::Value)?,
            },
            ast::Expr::Logical { op, lhs, rhs, pos } => {
                condition_only(
                    position,
                    pos,
                    if op == LogicalOp::And { "AND" } else { "OR" },
                )?;
                Expr::Logical {
                    op,
                    lhs: self.boxed(*lhs, Position::Condition)?,
                    rhs: self.boxed(*rhs, Position::Condition)?,
                }
            }
            ast::Expr::In { expr, list, pos } => {
                condition_only(position, pos, "IN")?;
                Expr::In {
                    expr: self.boxed(*expr, Position::Value)?,
                    list: self.exprs(list, Position::Value)?,
                }
            }
            ast::Expr::Case {
                subject,
                whens,
                otherwise,
            } => {
                let when_position = if subject.is_some() {
                    Position::Value
                } else {
                    Position::Condition
                };
                Expr::Case {
                    subject: subject
                        .map(|s| self.boxed(*s, Position::Value))
                        .transpose()?,
                    whens: whens
                        .into_iter()
                        .map(|(when, then)| {
                            Ok((
                                self.expr(when, when_position)?,
                                self.expr(then, Position::Value)?,
                            ))
                        })
                        .collect::<Result<_, ParseError>>()?,
                    otherwise: otherwise
                        .map(|e| self.boxed(*e, Position::Value))
                        .transpose()?,
                }
            }
        })
    }

    fn exprs(
        &mut self,
        exprs: Vec<ast::Expr>,
        position: Position,
    ) -> Result<Vec<Expr>, ParseError> {
        exprs.into_iter().map(|e| self.expr(e, position)).collect()
    }

    fn var(&mut self, var: ast::VarPath) -> Result<Var, ParseError> {
        let steps = var
            .segments
            .into_iter()
            .map(|segment| match segment {
                Segment::Key(k) => Ok(Step::Key(k)),
                Segment::Index(index) => match *index {
                    ast::Expr::Const(Value::Int(i)) => Ok(Step::Index(i)),
                    other => Ok(Step::DynIndex(self.expr(other, Position::Value)?)),
                },
            })
            .collect::<Result<_, ParseError>>()?;
        Ok(Var {
            column: Column::from_name(&var.root),
            root: var.root,
            steps,
        })
    }
}

fn mark_bindings(mut fields: Vec<PlanField>) -> Vec<PlanField> {
    let reads = analysis::later_reads(&fields);
    for (field, read_later) in fields.iter_mut().zip(reads) {
        if let PlanField::Expr { bind, .. } = field {
            *bind = read_later;
        }
    }
    fields
}

fn condition_only(position: Position, pos: Pos, operator: &str) -> Result<(), ParseError> {
    match position {
        Position::Condition => Ok(()),
        Position::Value => Err(error(
            pos,
            format!("{operator} is only allowed in WHERE, INCASE and CASE WHEN conditions"),
        )),
    }
}

fn arity_message(function: &Function, given: usize) -> String {
    let expected = if function.min_args == function.max_args {
        format!("{}", function.min_args)
    } else if function.max_args == usize::MAX {
        format!("at least {}", function.min_args)
    } else {
        format!("{} to {}", function.min_args, function.max_args)
    };
    format!(
        "function `{}` takes {expected} argument(s), got {given}",
        function.name
    )
}

fn error(pos: Pos, message: String) -> ParseError {
    ParseError::new(pos.line, pos.column, message)
}
