//! Credential shapes in variable values: URLs with passwords, DSN fields, well-known token
//! prefixes. Hand-written scanners (no regex): they run once per thread over the environment.

use super::shape;

/// The shape of a credential found anywhere in `value`, if any:
/// - a URL (any scheme) whose user-info has a non-empty password (`redis://:pw@h`,
///   `http://u:p@proxy:3128`), or whose user alone is a long random-looking key (Sentry DSN);
///   a plain user (`ssh://git@github.com`) is fine;
/// - a `password=`/`pwd=`/`passwd=` field (ODBC/ADO.NET/libpq/JDBC strings, URL queries,
///   `--password=`, JSON `"password": "…"`), or a key field such as `AccountKey=`,
///   `client_secret=`, `access_token=`, `api_key=`;
/// - a `-----BEGIN … PRIVATE KEY-----` block, a JWT, `Bearer`/`Basic` credentials;
/// - a well-known token prefix at a word start followed by enough token characters
///   (`TOKEN_RULES`).
///
/// Placeholders (`${VAR}`, `$VAR`, `{{ … }}`, `%VAR%`, `***`) are not credentials.
pub fn secret_value_shape(value: &str) -> Option<&'static str> {
    let b = value.as_bytes();
    if b.len() < 8 {
        return None;
    }
    url_credentials(value)
        .or_else(|| private_key(value))
        .or_else(|| tokens(b))
        .or_else(|| credential_field(b))
}

fn url_credentials(value: &str) -> Option<&'static str> {
    let b = value.as_bytes();
    let mut from = 0;
    while let Some(off) = value[from..].find("://") {
        let sep = from + off;
        from = sep + 3;
        let scheme_start = b[..sep]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
            .map_or(0, |p| p + 1);
        if scheme_start == sep || !b[scheme_start].is_ascii_alphabetic() {
            continue;
        }
        let rest = &b[from..];
        let end = rest
            .iter()
            .position(|c| {
                c.is_ascii_whitespace()
                    || matches!(
                        c,
                        b'/' | b'?' | b'#' | b',' | b';' | b'"' | b'\'' | b'<' | b'>' | b'`'
                    )
            })
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let Some(at) = authority.iter().rposition(|&c| c == b'@') else {
            continue;
        };
        let userinfo = &authority[..at];
        match userinfo.iter().position(|&c| c == b':') {
            Some(colon) => {
                let password = &userinfo[colon + 1..];
                if !password.is_empty() && !is_placeholder(password) {
                    return Some(shape::URL_PASSWORD);
                }
            }
            None => {
                if userinfo.len() >= 20
                    && userinfo.iter().all(|&c| is_word(c))
                    && looks_random(userinfo)
                {
                    return Some(shape::URL_KEY_USER);
                }
            }
        }
    }
    None
}

fn private_key(value: &str) -> Option<&'static str> {
    let mut from = 0;
    while let Some(off) = value[from..].find("-----BEGIN ") {
        let label_start = from + off + "-----BEGIN ".len();
        from = label_start;
        let rest = &value[label_start..];
        if let Some(end) = rest.find("-----") {
            if end <= 64 && rest[..end].contains("PRIVATE KEY") {
                return Some(shape::PRIVATE_KEY);
            }
        }
    }
    None
}

/// Characters a token body may use.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Za-z0-9_-]` (base64url)
    Word,
    /// `[A-Za-z0-9-]`
    Dashed,
    /// `[0-9a-fA-F]`
    Hex,
    /// `[A-Z0-9]`
    Upper,
}

impl Body {
    fn allows(self, c: u8) -> bool {
        match self {
            Body::Alnum => c.is_ascii_alphanumeric(),
            Body::Word => is_word(c),
            Body::Dashed => c.is_ascii_alphanumeric() || c == b'-',
            Body::Hex => c.is_ascii_hexdigit(),
            Body::Upper => c.is_ascii_uppercase() || c.is_ascii_digit(),
        }
    }
}

/// A token: `prefix` at a word start (not right after a letter or digit), then `min..=max`
/// body characters. With `max` set, the token must also end there (no letter or digit after).
/// `random`: the prefix is too common on its own, so the body must also look random
/// (see [`looks_random`]).
#[derive(Debug)]
struct TokenRule {
    prefix: &'static str,
    body: Body,
    min: usize,
    max: Option<usize>,
    random: bool,
    label: &'static str,
}

const fn rule(prefix: &'static str, body: Body, min: usize, label: &'static str) -> TokenRule {
    TokenRule {
        prefix,
        body,
        min,
        max: None,
        random: false,
        label,
    }
}

const fn exact(prefix: &'static str, body: Body, len: usize, label: &'static str) -> TokenRule {
    TokenRule {
        prefix,
        body,
        min: len,
        max: Some(len),
        random: false,
        label,
    }
}

const fn random(prefix: &'static str, body: Body, min: usize, label: &'static str) -> TokenRule {
    TokenRule {
        prefix,
        body,
        min,
        max: None,
        random: true,
        label,
    }
}

const OPENAI: &str = "OpenAI-style API key";
const ANTHROPIC: &str = "Anthropic API key";
const STRIPE: &str = "Stripe key";
const GITHUB: &str = "GitHub token";
const GITLAB: &str = "GitLab token";
const AWS: &str = "AWS access key id";
const SLACK: &str = "Slack token";
const DIGITALOCEAN: &str = "DigitalOcean token";
const SQUARE: &str = "Square token";
const SHOPIFY: &str = "Shopify token";

/// Well-known token shapes. The first rule whose prefix matches and whose body fits wins, so
/// longer prefixes come before shorter ones (`sk-ant-` before `sk-`).
const TOKEN_RULES: &[TokenRule] = &[
    rule("sk-ant-", Body::Word, 32, ANTHROPIC),
    // OpenAI (`sk-…`, `sk-proj-…`, `sk-svcacct-…`) and the many APIs copying the shape.
    random("sk-", Body::Word, 20, OPENAI),
    rule("sk_live_", Body::Alnum, 20, STRIPE),
    rule("sk_test_", Body::Alnum, 20, STRIPE),
    rule("rk_live_", Body::Alnum, 20, STRIPE),
    rule("rk_test_", Body::Alnum, 20, STRIPE),
    rule("whsec_", Body::Alnum, 24, STRIPE),
    rule("ghp_", Body::Alnum, 30, GITHUB),
    rule("gho_", Body::Alnum, 30, GITHUB),
    rule("ghu_", Body::Alnum, 30, GITHUB),
    rule("ghs_", Body::Alnum, 30, GITHUB),
    rule("ghr_", Body::Alnum, 30, GITHUB),
    rule("github_pat_", Body::Word, 40, GITHUB),
    rule("glpat-", Body::Word, 20, GITLAB),
    rule("glptt-", Body::Word, 20, GITLAB),
    rule("glrt-", Body::Word, 20, GITLAB),
    rule("gldt-", Body::Word, 20, GITLAB),
    exact("AKIA", Body::Upper, 16, AWS),
    exact("ASIA", Body::Upper, 16, AWS),
    rule("xoxa-", Body::Dashed, 20, SLACK),
    rule("xoxb-", Body::Dashed, 20, SLACK),
    rule("xoxe-", Body::Dashed, 20, SLACK),
    rule("xoxp-", Body::Dashed, 20, SLACK),
    rule("xoxr-", Body::Dashed, 20, SLACK),
    rule("xoxs-", Body::Dashed, 20, SLACK),
    rule("xapp-", Body::Dashed, 20, SLACK),
    exact("AIza", Body::Word, 35, "Google API key"),
    rule("ya29.", Body::Word, 20, "Google OAuth token"),
    rule("npm_", Body::Alnum, 36, "npm token"),
    rule("pypi-", Body::Word, 50, "PyPI token"),
    random("hf_", Body::Alnum, 30, "Hugging Face token"),
    exact("dop_v1_", Body::Hex, 64, DIGITALOCEAN),
    exact("doo_v1_", Body::Hex, 64, DIGITALOCEAN),
    exact("dor_v1_", Body::Hex, 64, DIGITALOCEAN),
    rule("sq0atp-", Body::Word, 22, SQUARE),
    rule("sq0csp-", Body::Word, 40, SQUARE),
    exact("SK", Body::Hex, 32, "Twilio API key"),
    exact("shpat_", Body::Hex, 32, SHOPIFY),
    exact("shpss_", Body::Hex, 32, SHOPIFY),
    exact("shpca_", Body::Hex, 32, SHOPIFY),
    exact("shppa_", Body::Hex, 32, SHOPIFY),
    rule("dckr_pat_", Body::Word, 20, "Docker Hub token"),
    rule("AGE-SECRET-KEY-1", Body::Upper, 50, "age secret key"),
    random("gsk_", Body::Alnum, 40, "Groq API key"),
    random("xai-", Body::Alnum, 40, "xAI API key"),
    rule("lin_api_", Body::Alnum, 40, "Linear API key"),
    exact("rubygems_", Body::Hex, 48, "RubyGems key"),
];

/// Where a word starts: a letter not right after a letter or digit.
fn word_starts(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..b.len())
        .filter(|&i| b[i].is_ascii_alphabetic() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()))
}

/// The shortest text any token shape accepts (`Bearer ` and 12 characters).
const SHORTEST_TOKEN: usize = 19;

fn tokens(b: &[u8]) -> Option<&'static str> {
    for i in word_starts(b) {
        let rest = &b[i..];
        if rest.len() < SHORTEST_TOKEN {
            break;
        }
        for r in TOKEN_RULES {
            if r.prefix.as_bytes()[0] != rest[0] {
                continue;
            }
            let Some(after) = rest.strip_prefix(r.prefix.as_bytes()) else {
                continue;
            };
            let n = run(after, |c| r.body.allows(c));
            let fits = n >= r.min
                && r.max.is_none_or(|max| {
                    n == max && after.get(n).is_none_or(|c| !c.is_ascii_alphanumeric())
                })
                && (!r.random || looks_random(&after[..n]));
            if fits {
                return Some(r.label);
            }
        }
        if jwt(rest) {
            return Some(shape::JWT);
        }
        if sendgrid(rest) {
            return Some(shape::SENDGRID);
        }
        if auth_header(rest) {
            return Some(shape::AUTH_HEADER);
        }
    }
    None
}

/// `eyJ…` `.` `eyJ…` `.`: base64url JSON header and payload.
fn jwt(b: &[u8]) -> bool {
    let segment = |b: &[u8]| {
        b.starts_with(b"eyJ")
            .then(|| run(b, is_word))
            .filter(|&n| n >= 10)
    };
    let Some(header) = segment(b) else {
        return false;
    };
    if b.get(header) != Some(&b'.') {
        return false;
    }
    let payload = &b[header + 1..];
    segment(payload).is_some_and(|n| payload.get(n) == Some(&b'.'))
}

/// `SG.` 22 base64url `.` 43 base64url (checked loosely: at least 16 each).
fn sendgrid(b: &[u8]) -> bool {
    let Some(b) = b.strip_prefix(b"SG.") else {
        return false;
    };
    let first = run(b, is_word);
    first >= 16 && b.get(first) == Some(&b'.') && run(&b[first + 1..], is_word) >= 16
}

/// `Bearer <token>` / `Basic <base64>` (any case): at least 12 token characters of at least two
/// kinds (upper, lower, digit), so `Basic authentication` is not one.
fn auth_header(b: &[u8]) -> bool {
    let scheme = ["bearer", "basic"].into_iter().find(|s| {
        b.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s.as_bytes()))
    });
    let Some(scheme) = scheme else {
        return false;
    };
    let after = &b[scheme.len()..];
    let spaces = run(after, |c| c == b' ');
    if spaces == 0 {
        return false;
    }
    let token = &after[spaces..];
    let n = run(token, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
    });
    n >= 12 && kinds(&token[..n]) >= 2
}

const PASSWORD_KEYS: &[&str] = &["password", "passwd", "pwd"];
const KEY_KEYS: &[&str] = &[
    "accountkey",
    "sharedaccesskey",
    "client_secret",
    "access_token",
    "auth_token",
    "api_key",
    "apikey",
];

/// `password=…` / `pwd = '…'` / `"password": "…"` (and [`KEY_KEYS`]), the key at a word start
/// (`_` counts as a separator, so `db_password=` is one; `OLDPWD=` is not), with a non-empty,
/// non-placeholder value.
fn credential_field(b: &[u8]) -> Option<&'static str> {
    for i in word_starts(b) {
        // The first letters of the keys below.
        if !matches!(b[i].to_ascii_lowercase(), b'p' | b'a' | b'c' | b's') {
            continue;
        }
        let rest = &b[i..];
        let keys = PASSWORD_KEYS
            .iter()
            .map(|k| (k, shape::PASSWORD_FIELD))
            .chain(KEY_KEYS.iter().map(|k| (k, shape::KEY_FIELD)));
        for (key, label) in keys {
            let Some(head) = rest.get(..key.len()) else {
                continue;
            };
            if !head.eq_ignore_ascii_case(key.as_bytes()) {
                continue;
            }
            let after = &rest[key.len()..];
            if after.first().is_some_and(|&c| is_word(c)) {
                continue;
            }
            let quoted_key = i > 0 && b[i - 1] == b'"';
            if field_value(after, quoted_key).is_some_and(|v| !v.is_empty() && !is_placeholder(v)) {
                return Some(label);
            }
        }
    }
    None
}

/// The value after a field key: ` = value`, ` = 'value'`, or (JSON, `quoted_key`) `": "value"`.
fn field_value(b: &[u8], quoted_key: bool) -> Option<&[u8]> {
    let mut b = b;
    let json = quoted_key && b.first() == Some(&b'"');
    if json {
        b = &b[1..];
    }
    b = &b[run(b, |c| c == b' ')..];
    let sep = if json { b':' } else { b'=' };
    b = b.strip_prefix(&[sep])?;
    b = &b[run(b, |c| c == b' ')..];
    match b.first() {
        Some(&q) if q == b'"' || q == b'\'' => {
            let inner = &b[1..];
            Some(&inner[..run(inner, |c| c != q)])
        }
        _ if json => None,
        _ => Some(
            &b[..run(b, |c| {
                !(c.is_ascii_whitespace() || matches!(c, b';' | b'&' | b'"' | b'\''))
            })],
        ),
    }
}

/// `${VAR}`, `$(cmd)`, `$VAR` (upper case), `{{ … }}`, `%VAR%`, `***`: templates, not secrets.
fn is_placeholder(s: &[u8]) -> bool {
    s.starts_with(b"${")
        || s.starts_with(b"$(")
        || s.starts_with(b"{{")
        || s.iter().all(|&c| c == b'*')
        || (s.len() > 1
            && s[0] == b'$'
            && s[1..]
                .iter()
                .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'))
        || (s.len() > 2 && s[0] == b'%' && s[s.len() - 1] == b'%')
}

/// At least two kinds of characters (upper, lower, digit) and an unbroken run of 16 letters and
/// digits: what generated keys look like, and hyphenated words (`sk-release-2024-branch`) or
/// one-case words (`sk-averyveryverylongword`) do not.
fn looks_random(s: &[u8]) -> bool {
    let (mut current, mut longest) = (0, 0);
    for &c in s {
        current = if c.is_ascii_alphanumeric() {
            current + 1
        } else {
            0
        };
        longest = longest.max(current);
    }
    longest >= 16 && kinds(s) >= 2
}

fn kinds(s: &[u8]) -> usize {
    [
        s.iter().any(u8::is_ascii_uppercase),
        s.iter().any(u8::is_ascii_lowercase),
        s.iter().any(u8::is_ascii_digit),
    ]
    .into_iter()
    .filter(|&k| k)
    .count()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// How many leading bytes of `b` satisfy `f`.
fn run(b: &[u8], f: impl Fn(u8) -> bool) -> usize {
    b.iter().position(|&c| !f(c)).unwrap_or(b.len())
}
