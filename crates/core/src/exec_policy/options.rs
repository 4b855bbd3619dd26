//! A small getopt-style reader for the option grammars the policy must understand.
//!
//! A grammar is a list of specs: `-x` (short flag), `-x:` (short option with a value, attached
//! or next word), `-x?` (short option with an optional attached value), `--name` (long flag),
//! `--name=` (long option with a value, `--name=v` or `--name v`), `--name?` (long option with
//! an optional `=value`). Long options must be spelt out: an abbreviation (`--out` for
//! `--output`) is unknown, so it cannot slip a dangerous option past an allow-list.

use super::script::Word;

/// One option as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// `-x` or `--name`, as in the grammar.
    pub name: String,
    pub value: Option<String>,
}

/// What [`read_options`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub options: Vec<Opt>,
    /// Index of the first operand (or `args.len()`), when `stop_at_operand`.
    pub rest: usize,
    /// Operands (when not stopping at the first one).
    pub operands: Vec<usize>,
}

enum Arity {
    Flag,
    Value,
    Optional,
}

fn lookup(grammar: &[&str], name: &str) -> Option<Arity> {
    grammar.iter().find_map(|spec| {
        let (base, arity) = if let Some(b) = spec.strip_suffix(':') {
            (b, Arity::Value)
        } else if let Some(b) = spec.strip_suffix('=') {
            (b, Arity::Value)
        } else if let Some(b) = spec.strip_suffix('?') {
            (b, Arity::Optional)
        } else {
            (*spec, Arity::Flag)
        };
        (base == name).then_some(arity)
    })
}

/// Reads options from `args` by `grammar`. `None` when an option is unknown or lacks its
/// value. With `stop_at_operand`, reading stops at the first operand (wrappers: what follows
/// is the command); otherwise options and operands may mix (GNU style) until `--`.
pub fn read_options(args: &[Word], grammar: &[&str], stop_at_operand: bool) -> Option<Parsed> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let arg = &args[i].text;
        if only_operands || arg == "-" || !arg.starts_with('-') {
            if stop_at_operand {
                parsed.rest = i;
                return Some(parsed);
            }
            parsed.operands.push(i);
            i += 1;
            continue;
        }
        if arg == "--" {
            if stop_at_operand {
                parsed.rest = i + 1;
                return Some(parsed);
            }
            only_operands = true;
            i += 1;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let value = match (lookup(grammar, &name)?, attached) {
                (Arity::Flag, Some(_)) => return None,
                (Arity::Flag, None) | (Arity::Optional, None) => None,
                (Arity::Optional | Arity::Value, Some(v)) => Some(v),
                (Arity::Value, None) => {
                    i += 1;
                    Some(args.get(i)?.text.clone())
                }
            };
            parsed.options.push(Opt { name, value });
            i += 1;
            continue;
        }
        // A cluster of short options: `-xvf file`, `-n5`.
        let cluster: Vec<char> = arg.chars().skip(1).collect();
        let mut j = 0;
        while j < cluster.len() {
            let name = format!("-{}", cluster[j]);
            let tail: String = cluster[j + 1..].iter().collect();
            match lookup(grammar, &name)? {
                Arity::Flag => {
                    parsed.options.push(Opt { name, value: None });
                    j += 1;
                }
                Arity::Optional => {
                    let value = (!tail.is_empty()).then_some(tail);
                    parsed.options.push(Opt { name, value });
                    break;
                }
                Arity::Value => {
                    let value = if tail.is_empty() {
                        i += 1;
                        args.get(i)?.text.clone()
                    } else {
                        tail
                    };
                    parsed.options.push(Opt {
                        name,
                        value: Some(value),
                    });
                    break;
                }
            }
        }
        i += 1;
    }
    parsed.rest = args.len();
    Some(parsed)
}
