//! Static facts about a compiled plan that let evaluation skip work: which aliases later
//! fields actually read, and which top-level payload keys any expression can reach.

use crate::columns::Column;
use crate::plan::{Expr, Plan, PlanField, Step, Var};
use crate::value::Key;

/// Calls `f` on every variable read in `expr`.
fn for_each_var<'p>(expr: &'p Expr, f: &mut impl FnMut(&'p Var)) {
    match expr {
        Expr::Const(_) | Expr::Range(..) => {}
        Expr::Var(var) => {
            f(var);
            for step in &var.steps {
                if let Step::DynIndex(index) = step {
                    for_each_var(index, f);
                }
            }
        }
        Expr::List(items) | Expr::Call { args: items, .. } => {
            items.iter().for_each(|e| for_each_var(e, f))
        }
        Expr::GetRange { base: inner, .. } | Expr::Neg(inner) | Expr::Not(inner) => {
            for_each_var(inner, f)
        }
        Expr::Binary { lhs, rhs, .. } | Expr::Logical { lhs, rhs, .. } => {
            for_each_var(lhs, f);
            for_each_var(rhs, f);
        }
        Expr::In { expr, list } => {
            for_each_var(expr, f);
            list.iter().for_each(|e| for_each_var(e, f));
        }
        Expr::Case {
            subject,
            whens,
            otherwise,
        } => {
            subject
                .iter()
                .chain(otherwise)
                .for_each(|e| for_each_var(e, f));
            for (when, then) in whens {
                for_each_var(when, f);
                for_each_var(then, f);
            }
        }
    }
}

fn calls_function(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Call { function, args } => {
            function.name == name || args.iter().any(|a| calls_function(a, name))
        }
        Expr::Const(_) | Expr::Range(..) => false,
        Expr::Var(var) => var
            .steps
            .iter()
            .any(|s| matches!(s, Step::DynIndex(e) if calls_function(e, name))),
        Expr::List(items) => items.iter().any(|e| calls_function(e, name)),
        Expr::GetRange { base: inner, .. } | Expr::Neg(inner) | Expr::Not(inner) => {
            calls_function(inner, name)
        }
        Expr::Binary { lhs, rhs, .. } | Expr::Logical { lhs, rhs, .. } => {
            calls_function(lhs, name) || calls_function(rhs, name)
        }
        Expr::In { expr, list } => {
            calls_function(expr, name) || list.iter().any(|e| calls_function(e, name))
        }
        Expr::Case {
            subject,
            whens,
            otherwise,
        } => {
            subject
                .iter()
                .chain(otherwise)
                .any(|e| calls_function(e, name))
                || whens
                    .iter()
                    .any(|(w, t)| calls_function(w, name) || calls_function(t, name))
        }
    }
}

fn field_exprs(fields: &[PlanField]) -> impl Iterator<Item = &Expr> {
    fields.iter().filter_map(|f| match f {
        PlanField::Expr { expr, .. } => Some(expr),
        PlanField::Star => None,
    })
}

fn plan_exprs(plan: &Plan) -> Vec<&Expr> {
    let mut exprs: Vec<&Expr> = field_exprs(&plan.fields).collect();
    exprs.extend(plan.condition.as_ref());
    if let Some(foreach) = &plan.foreach {
        exprs.extend(field_exprs(&foreach.do_fields));
        exprs.extend(foreach.incase.as_ref());
    }
    exprs
}

/// The top-level payload keys the plan can read, or `None` when it may read anything
/// (an index or computed key at the top, or `payload(Path)`).
pub(crate) fn payload_keys(plan: &Plan) -> Option<Vec<Key>> {
    let exprs = plan_exprs(plan);
    if exprs.iter().any(|e| calls_function(e, "payload")) {
        return None;
    }
    let mut keys = Some(Vec::new());
    for expr in exprs {
        for_each_var(expr, &mut |var| {
            if var.column != Some(Column::Payload) {
                return;
            }
            match (var.steps.first(), keys.as_mut()) {
                (Some(Step::Key(key)), Some(keys)) => {
                    if !keys.iter().any(|k| k == key) {
                        keys.push(Key::new(key));
                    }
                }
                (Some(_), _) => keys = None,
                (None, _) => {}
            }
        });
    }
    keys
}

/// For each field, whether a later field in the same list reads its alias (or a later `*`
/// copies it); only then does the alias need to be bound for subsequent lookups.
pub(crate) fn later_reads(fields: &[PlanField]) -> Vec<bool> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let PlanField::Expr { target, .. } = field else {
                return false;
            };
            fields.iter().skip(i + 1).any(|later| match later {
                PlanField::Star => true,
                PlanField::Expr { expr, .. } => {
                    let mut reads = false;
                    for_each_var(expr, &mut |var| reads |= var.root == target.root);
                    reads
                }
            })
        })
        .collect()
}
