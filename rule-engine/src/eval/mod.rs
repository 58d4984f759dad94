//! Evaluates a compiled [`Plan`] against one event with EMQX semantics.

mod arith;
mod compare;
pub(crate) mod path;

use crate::ast::{BinaryOp, LogicalOp};
use crate::columns::{Column, column_value, columns_of};
use crate::error::{EvalError, ValueError};
use crate::event::Event;
use crate::plan::{Expr, Plan, PlanField, Step, Var};
use crate::row::Row;
use crate::rule::Output;
use crate::value::{Key, Map, MapHasher, Value};

pub(crate) use arith::apply as arith;
pub(crate) use compare::{compare, exact_eq};

/// Everything an expression can see while one event is evaluated.
#[derive(Debug)]
pub(crate) struct Scope<'e> {
    pub(crate) event: &'e Event,
    /// Top-level payload keys worth materialising; `None` decodes the whole payload.
    payload_keys: Option<&'e [Key]>,
    /// The payload decoded as JSON, at most once per evaluation and only when a path
    /// reaches into it; a failure is kept too, so it is not retried per path.
    payload: Option<Result<Value, ValueError>>,
    /// A Kafka record's value decoded for paths, likewise once; `undefined` when it is not JSON.
    kafka_value: Option<Value>,
    /// Values written by earlier fields' aliases (and FOREACH's item); they shadow columns.
    bindings: Map,
    /// The SELECT output, visible to WHERE where it shadows everything else.
    selected: Option<Map>,
}

pub(crate) fn run(plan: &Plan, event: &Event) -> Result<Output<'static>, EvalError> {
    let mut scope = Scope {
        event,
        payload_keys: plan.payload_keys.as_deref(),
        payload: None,
        kafka_value: None,
        bindings: Map::default(),
        selected: None,
    };
    let selected = scope.select(&plan.fields).map_err(|e| match plan.foreach {
        Some(_) => EvalError::SelectAndCollect(e),
        None => EvalError::SelectAndTransform(e),
    })?;
    let collection = match &plan.foreach {
        Some(_) => Some(
            scope
                .collection(&plan.fields, &selected)
                .map_err(EvalError::SelectAndCollect)?,
        ),
        None => None,
    };
    scope.selected = Some(selected);
    if let Some(condition) = &plan.condition
        && !scope
            .condition(condition)
            .map_err(EvalError::MatchConditions)?
    {
        return Ok(Output::NoMatch);
    }
    let selected = scope.selected.take().unwrap_or_default();
    let (Some(foreach), Some(items)) = (&plan.foreach, collection) else {
        return Ok(Output::Row(Row::built(selected)));
    };
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        scope.bindings = Map::with_capacity_and_hasher(1, MapHasher::default());
        scope.bindings.insert(Key::new(&foreach.item_name), item);
        if let Some(incase) = &foreach.incase
            && !scope.condition(incase).map_err(EvalError::MatchIncase)?
        {
            continue;
        }
        let row = if foreach.do_fields.is_empty() {
            std::mem::take(&mut scope.bindings)
        } else {
            scope
                .select(&foreach.do_fields)
                .map_err(EvalError::DoEach)?
        };
        rows.push(Value::Map(row).into_json());
    }
    Ok(Output::Rows(rows))
}

/// Whether an expression is the bare `payload`, which FOREACH decodes as EMQX does.
fn is_bare_payload(expr: &Expr) -> bool {
    matches!(expr, Expr::Var(var) if var.column == Some(Column::Payload) && var.steps.is_empty())
}

// Counts JSON decodes of an event's payload or value, so tests can check they happen once.
#[cfg(test)]
thread_local! {
    pub(crate) static EVENT_DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_event_decode() {
    #[cfg(test)]
    EVENT_DECODES.with(|count| count.set(count.get() + 1));
}

fn decode_json_failed(error: &serde_json::Error) -> ValueError {
    ValueError::DecodeJsonFailed(error.to_string())
}

impl<'e> Scope<'e> {
    /// FOREACH iterates over its last field's value. Anything that is not a list, a missing
    /// value included, yields no rows, as EMQX's `ensure_list`; only a bare `payload` is
    /// decoded first, strictly, so a payload that is not JSON fails here as it does in EMQX.
    fn collection(
        &mut self,
        fields: &[PlanField],
        selected: &Map,
    ) -> Result<Vec<Value>, ValueError> {
        let Some(PlanField::Expr { expr, target, .. }) = fields.last() else {
            return Ok(Vec::new());
        };
        let value = path::get_target(selected, target);
        let value = match value.as_bytes() {
            Some(bytes) if is_bare_payload(expr) => self.payload_json(bytes)?,
            _ => value,
        };
        match value {
            Value::List(items) => Ok(items),
            _ => Ok(Vec::new()),
        }
    }

    /// Binary `payload` decoded strictly: through the per-evaluation cache when it is the
    /// event's own payload, else on its own.
    fn payload_json(&mut self, bytes: &[u8]) -> Result<Value, ValueError> {
        if self.is_event_payload(bytes) {
            return self.decoded_payload().cloned();
        }
        Value::parse_json(bytes).map_err(|e| decode_json_failed(&e))
    }

    fn is_event_payload(&self, bytes: &[u8]) -> bool {
        matches!(self.event, Event::MessagePublish(m) if m.payload.as_ref() == bytes)
    }

    #[cfg(test)]
    pub(crate) fn for_test(event: &'e Event) -> Self {
        Scope {
            event,
            payload_keys: None,
            payload: None,
            kafka_value: None,
            bindings: Map::default(),
            selected: None,
        }
    }

    /// Evaluates fields left to right; each alias becomes visible to the fields after it.
    fn select(&mut self, fields: &[PlanField]) -> Result<Map, ValueError> {
        let mut output = Map::with_capacity_and_hasher(fields.len(), MapHasher::default());
        for field in fields {
            match field {
                PlanField::Star => {
                    for (name, column) in columns_of(self.event) {
                        let value = match self.bindings.get(*name) {
                            Some(bound) => bound.clone(),
                            None => column_value(self.event, *column),
                        };
                        output.insert(Key::new(name), value);
                    }
                    for (name, value) in &self.bindings {
                        if !output.contains_key(name) {
                            output.insert(name.clone(), value.clone());
                        }
                    }
                }
                PlanField::Expr { expr, target, bind } => {
                    let value = self.eval(expr)?;
                    if matches!(value, Value::Undefined) {
                        continue;
                    }
                    if !bind {
                        path::put_target(&mut output, target, value);
                        continue;
                    }
                    if !self.bindings.contains_key(&target.root) && !target.segments.is_empty() {
                        // The alias extends an existing column (`AS pub_props.x`): start from it.
                        if let Some(column) = Column::from_name(&target.root) {
                            let seed = column_value(self.event, column);
                            if !matches!(seed, Value::Undefined) {
                                self.bindings.insert(target.root.clone(), seed);
                            }
                        }
                    }
                    path::put_target(&mut self.bindings, target, value.clone());
                    path::put_target(&mut output, target, value);
                }
            }
        }
        Ok(output)
    }

    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Value, ValueError> {
        match expr {
            Expr::Const(v) => Ok(v.clone()),
            Expr::Var(var) => self.var(var),
            Expr::List(items) => items
                .iter()
                .map(|e| self.eval(e))
                .collect::<Result<_, _>>()
                .map(Value::List),
            Expr::Range(begin, end) => Ok(Value::List((*begin..=*end).map(Value::Int).collect())),
            Expr::GetRange { base, begin, end } => {
                let list = self.eval(base)?;
                path::range(&list, *begin, *end)
            }
            Expr::Call { function, args } => {
                let args = args
                    .iter()
                    .map(|e| self.eval(e))
                    .collect::<Result<Vec<_>, _>>()?;
                (function.call)(&args, self)
            }
            Expr::Neg(inner) => arith::negate(self.eval(inner)?),
            Expr::Binary { op, lhs, rhs } => {
                let (lhs, rhs) = (self.eval(lhs)?, self.eval(rhs)?);
                match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Div
                    | BinaryOp::IntDiv
                    | BinaryOp::Rem => arith::apply(*op, lhs, rhs),
                    _ => compare(*op, &lhs, &rhs).map(Value::Bool),
                }
            }
            Expr::Case {
                subject,
                whens,
                otherwise,
            } => self.case(subject.as_deref(), whens, otherwise.as_deref()),
            // Only reachable in condition position, where they are booleans.
            Expr::Not(_) | Expr::Logical { .. } | Expr::In { .. } => {
                self.condition(expr).map(Value::Bool)
            }
        }
    }

    /// Evaluates a WHERE/INCASE/WHEN condition, which must produce a boolean.
    pub(crate) fn condition(&mut self, expr: &Expr) -> Result<bool, ValueError> {
        match expr {
            Expr::Logical {
                op: LogicalOp::And,
                lhs,
                rhs,
            } => Ok(self.condition(lhs)? && self.condition(rhs)?),
            Expr::Logical {
                op: LogicalOp::Or,
                lhs,
                rhs,
            } => Ok(self.condition(lhs)? || self.condition(rhs)?),
            // EMQX: NOT of something that is not a boolean is simply false.
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Logical { .. } | Expr::In { .. } | Expr::Not(_) => {
                    Ok(!self.condition(inner)?)
                }
                other => Ok(matches!(self.eval(other)?, Value::Bool(false))),
            },
            Expr::In { expr, list } => {
                let needle = self.eval(expr)?;
                for candidate in list {
                    if exact_eq(&needle, &self.eval(candidate)?) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            other => match self.eval(other)? {
                Value::Bool(b) => Ok(b),
                v => Err(ValueError::NotBoolean(v.type_name().to_owned())),
            },
        }
    }

    fn case(
        &mut self,
        subject: Option<&Expr>,
        whens: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
    ) -> Result<Value, ValueError> {
        match subject {
            None => {
                for (when, then) in whens {
                    // A WHEN that is not true (a non-boolean included) falls through, but an
                    // error raised on the way, such as a payload that is not JSON, fails the
                    // message, as in EMQX's `eval_case_clauses`.
                    match self.condition(when) {
                        Ok(true) => return self.eval(then),
                        Ok(false) | Err(ValueError::NotBoolean(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(subject) => {
                let subject = self.eval(subject)?;
                for (when, then) in whens {
                    if exact_eq(&self.eval(when)?, &subject) {
                        return self.eval(then);
                    }
                }
            }
        }
        otherwise.map_or(Ok(Value::Undefined), |e| self.eval(e))
    }

    fn var(&mut self, var: &Var) -> Result<Value, ValueError> {
        let dynamic;
        let steps: &[Step] = if var.steps.iter().any(|s| matches!(s, Step::DynIndex(_))) {
            dynamic = self.resolve_dynamic(&var.steps)?;
            &dynamic
        } else {
            &var.steps
        };
        // EMQX's runtime decodes whatever a path rooted at `payload` reads strictly, and
        // fails the message when it is not JSON; any other path into a binary that is not JSON
        // is just undefined (`general_find`).
        let payload_path = var.column == Some(Column::Payload) && !steps.is_empty();
        let shadow = self
            .selected
            .as_ref()
            .and_then(|s| s.get(var.root.as_str()))
            .or_else(|| self.bindings.get(var.root.as_str()));
        if let Some(v) = shadow {
            match v.as_bytes() {
                // The event's own payload, selected or aliased as is: read through the cache.
                Some(bytes) if payload_path && self.is_event_payload(bytes) => {}
                Some(bytes) if payload_path => {
                    let decoded = Value::parse_json(bytes).map_err(|e| decode_json_failed(&e))?;
                    return Ok(path::walk(&decoded, steps));
                }
                _ => return Ok(path::walk(v, steps)),
            }
        }
        match var.column {
            Some(Column::Payload) if !steps.is_empty() => {
                let payload = self.decoded_payload()?;
                Ok(path::walk(payload, steps))
            }
            Some(Column::KafkaValue) if !steps.is_empty() => {
                Ok(path::walk(self.decoded_kafka_value(), steps))
            }
            Some(column) => Ok(path::walk_owned(column_value(self.event, column), steps)),
            None => Ok(Value::Undefined),
        }
    }

    fn resolve_dynamic(&mut self, steps: &[Step]) -> Result<Vec<Step>, ValueError> {
        steps
            .iter()
            .map(|step| match step {
                Step::Key(k) => Ok(Step::Key(k.clone())),
                Step::Index(i) => Ok(Step::Index(*i)),
                Step::DynIndex(e) => match self.eval(e)? {
                    Value::Int(i) => Ok(Step::Index(i)),
                    Value::Str(s) => Ok(Step::Key(s)),
                    // An unusable index finds nothing, like EMQX's lookup.
                    _ => Ok(Step::Index(0)),
                },
            })
            .collect()
    }

    /// The payload parsed as JSON; an invalid payload is an error (`decode_json_failed`).
    pub(crate) fn decoded_payload(&mut self) -> Result<&Value, ValueError> {
        if self.payload.is_none() {
            let decoded = match self.event {
                Event::MessagePublish(m) => {
                    count_event_decode();
                    match self.payload_keys {
                        Some(keys) => Value::parse_json_keeping(&m.payload, keys),
                        None => Value::parse_json(&m.payload),
                    }
                    .map_err(|e| decode_json_failed(&e))
                }
                Event::KafkaRecord(_) => Ok(Value::Undefined),
            };
            self.payload = Some(decoded);
        }
        match &self.payload {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(&Value::Undefined),
        }
    }

    /// A Kafka record's value as paths see it: its JSON, or `undefined` when it is not JSON
    /// (a path into it then finds nothing, as in EMQX, and the value itself stays as it is).
    fn decoded_kafka_value(&mut self) -> &Value {
        let event = self.event;
        self.kafka_value.get_or_insert_with(|| match event {
            Event::KafkaRecord(k) => {
                count_event_decode();
                Value::decode_for_path(k.value.as_bytes()).unwrap_or_default()
            }
            Event::MessagePublish(_) => Value::Undefined,
        })
    }
}

#[cfg(test)]
mod tests;
