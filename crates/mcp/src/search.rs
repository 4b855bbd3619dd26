//! `tool_search`: BM25 over the names and descriptions of tools that are not in the prompt,
//! so a large MCP catalogue costs the prompt one small tool instead of every schema.

use std::collections::HashMap;

/// BM25's usual constants: term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A searchable tool: its model-facing name and the text it is found by.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub text: String,
}

/// An index over a set of tools; build it once per catalogue.
pub struct Index {
    docs: Vec<Vec<String>>,
    names: Vec<String>,
    doc_freq: HashMap<String, usize>,
    avg_len: f64,
}

impl Index {
    pub fn new(documents: &[Document]) -> Index {
        let docs: Vec<Vec<String>> = documents
            .iter()
            .map(|d| {
                let mut terms = tokens(&d.name);
                terms.extend(tokens(&d.text));
                terms
            })
            .collect();
        let mut doc_freq = HashMap::new();
        for terms in &docs {
            let mut seen: Vec<&String> = terms.iter().collect();
            seen.sort();
            seen.dedup();
            for term in seen {
                *doc_freq.entry(term.clone()).or_insert(0) += 1;
            }
        }
        let total: usize = docs.iter().map(Vec::len).sum();
        let avg_len = if docs.is_empty() {
            0.0
        } else {
            total as f64 / docs.len() as f64
        };
        Index {
            docs,
            names: documents.iter().map(|d| d.name.clone()).collect(),
            doc_freq,
            avg_len,
        }
    }

    /// The names of the best `limit` matches, best first; tools matching no query term are
    /// left out. Ties keep catalogue order, so the answer is stable.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&str> {
        let query = tokens(query);
        let n = self.docs.len() as f64;
        let mut scored: Vec<(usize, f64)> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, terms)| {
                let len = terms.len() as f64;
                let score = query
                    .iter()
                    .map(|q| {
                        let tf = terms.iter().filter(|t| *t == q).count() as f64;
                        if tf == 0.0 {
                            return 0.0;
                        }
                        let df = *self.doc_freq.get(q).unwrap_or(&0) as f64;
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        let norm = 1.0 - B + B * len / self.avg_len.max(1.0);
                        idf * tf * (K1 + 1.0) / (tf + K1 * norm)
                    })
                    .sum::<f64>();
                (i, score)
            })
            .filter(|(_, score)| *score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
            .into_iter()
            .take(limit)
            .map(|(i, _)| self.names[i].as_str())
            .collect()
    }
}

/// Lower-case words: split on anything not alphanumeric and at camelCase humps, so
/// `mcp__github__createPullRequest` is found by "pull request".
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            flush(&mut word, &mut out);
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            flush(&mut word, &mut out);
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        word.extend(c.to_lowercase());
    }
    flush(&mut word, &mut out);
    out
}

fn flush(word: &mut String, out: &mut Vec<String>) {
    // "mcp" is in every name: it says nothing about which tool fits.
    if !word.is_empty() && word != "mcp" {
        out.push(std::mem::take(word));
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, text: &str) -> Document {
        Document {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn finds_by_name_parts_and_description() {
        let index = Index::new(&[
            doc(
                "mcp__gh__createPullRequest",
                "Open a pull request on GitHub",
            ),
            doc("mcp__fs__read_text_file", "Read a file from disk as text"),
            doc("mcp__fs__write_file", "Create or overwrite a file"),
            doc("mcp__echo__echo", "Echo the given text back"),
        ]);
        assert_eq!(
            index.search("pull request", 8),
            ["mcp__gh__createPullRequest"]
        );
        assert_eq!(index.search("read file", 8)[0], "mcp__fs__read_text_file");
        assert_eq!(index.search("echo", 1), ["mcp__echo__echo"]);
        assert!(index.search("kubernetes", 8).is_empty());
        assert!(index.search("", 8).is_empty());
    }

    #[test]
    fn rare_terms_outweigh_common_ones() {
        let index = Index::new(&[
            doc("a", "file file file list"),
            doc("b", "file archive"),
            doc("c", "file"),
        ]);
        assert_eq!(index.search("file archive", 8)[0], "b");
    }

    #[test]
    fn limit_applies() {
        let docs: Vec<Document> = (0..20)
            .map(|i| doc(&format!("t{i}"), "same words"))
            .collect();
        let index = Index::new(&docs);
        assert_eq!(index.search("words", 5).len(), 5);
        assert_eq!(index.search("words", 5)[0], "t0");
    }
}
