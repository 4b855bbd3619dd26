use super::*;

fn parsed(text: &str) -> FrontMatter {
    match parse(text) {
        Ok(front) => front,
        Err(error) => panic!("parse failed: {error}\n{text}"),
    }
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(front) => panic!("expected an error, got {front:?}"),
        Err(error) => error,
    }
}

#[test]
fn plain_values_and_comments() {
    let front =
        parsed("# leading comment\nname: lint # trailing\ndescription: Run the linter: fast\n");
    assert_eq!(front.name.as_deref(), Some("lint"));
    assert_eq!(front.description.as_deref(), Some("Run the linter: fast"));
    assert_eq!(front.short_description, None);
}

#[test]
fn quoted_values_with_escapes_and_folding() {
    let front =
        parsed("name: 'it''s'\ndescription: \"tab\\there \\\"q\\\" \\u00e9\n  next line\"\n");
    assert_eq!(front.name.as_deref(), Some("it's"));
    assert_eq!(
        front.description.as_deref(),
        Some("tab\there \"q\" \u{e9} next line")
    );
}

#[test]
fn folded_and_literal_block_scalars() {
    let front = parsed("name: x\ndescription: >-\n  one\n  two\n\n  three\n");
    assert_eq!(front.description.as_deref(), Some("one two\nthree"));
    let front = parsed("description: |\n  one\n  two\nname: x\n");
    assert_eq!(front.description.as_deref(), Some("one\ntwo\n"));
    assert_eq!(front.name.as_deref(), Some("x"));
    let front = parsed("description: |+\n  kept\n\nname: x\n");
    assert_eq!(front.description.as_deref(), Some("kept\n\n"));
}

#[test]
fn multi_line_plain_scalars() {
    let front = parsed("description: starts here\n  and goes on\nname: x\n");
    assert_eq!(
        front.description.as_deref(),
        Some("starts here and goes on")
    );
    let front = parsed("description:\n  on the next line\n  too\n");
    assert_eq!(front.description.as_deref(), Some("on the next line too"));
}

#[test]
fn nested_metadata_and_skipped_collections() {
    let text = "name: x\nallowed-tools:\n- Read\n- Write\ntags: [a, \"b]\",\n  c]\nextra: {k: v}\nmetadata:\n  owner: me\n  short-description: Short one\ndescription: d\n";
    let front = parsed(text);
    assert_eq!(front.short_description.as_deref(), Some("Short one"));
    assert_eq!(front.description.as_deref(), Some("d"));
}

#[test]
fn null_tags_and_crlf() {
    let front = parsed("name: ~\r\ndescription: !!str &a tagged\r\n");
    assert_eq!(front.name, None);
    assert_eq!(front.description.as_deref(), Some("tagged"));
}

#[test]
fn malformed_yaml_is_reported_with_a_line() {
    assert!(error("name: x\njust words\n").contains("expected `key: value` at line 3"));
    assert!(error("name: \"open\ndescription: d\n").contains("unterminated quoted value"));
    assert!(error("name: x\nname: y\n").contains("duplicate key `name`"));
    assert!(error("name: [a, b]\n").contains("`name` must be a string"));
    assert!(error("description:\n  k: v\n").contains("`description` must be a string"));
    assert!(error("name: x\n   bad: indent\n").contains("invalid YAML"));
    assert!(error("name: \"\\q\"\n").contains("unknown escape"));
    assert!(error("- a\n- b\n").contains("list item"));
}

fn located(text: &[u8], complete: bool) -> Option<&[u8]> {
    match locate(text, complete) {
        Located::Found(start, end) => Some(&text[start..end]),
        _ => None,
    }
}

#[test]
fn locating_the_block() {
    assert_eq!(
        located(b"---\nname: x\n---\nbody", true),
        Some(&b"name: x\n"[..])
    );
    assert_eq!(
        located(b"\xEF\xBB\xBF---\r\na: b\r\n--- \r\n", true),
        Some(&b"a: b\r\n"[..])
    );
    assert_eq!(located(b"---\n---\n", true), None);
    assert_eq!(located(b"\n---\na: b\n---\n", true), None);
    assert_eq!(located(b"---\na: b\n", true), None);
    // A cut last line is not trusted to be the delimiter.
    assert!(matches!(
        locate(b"---\na: b\n---", false),
        Located::Unclosed
    ));
}

#[test]
fn reads_front_matter_longer_than_the_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("SKILL.md");
    let filler = format!("notes: {}\n", "x".repeat(PREFIX_BYTES));
    let text = format!("---\nname: big\n{filler}description: late\n---\nbody\n");
    std::fs::write(&path, text).expect("write");
    let front = read_front_matter(&path).expect("front matter");
    assert_eq!(front.description.as_deref(), Some("late"));

    std::fs::write(&path, b"---\nname: \xff\n---\n").expect("write");
    assert_eq!(read_front_matter(&path), Err(NOT_UTF8.to_string()));
    std::fs::write(&path, "no front matter\n").expect("write");
    assert_eq!(
        read_front_matter(&path),
        Err(MISSING_FRONT_MATTER.to_string())
    );
}
