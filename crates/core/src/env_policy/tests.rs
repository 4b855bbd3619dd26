use super::*;

fn vars() -> Vec<(String, String)> {
    [
        ("PATH", "/bin"),
        ("HOME", "/h"),
        ("OPENAI_API_KEY", "sk-1"),
        ("GITHUB_TOKEN", "ghp"),
        ("DB_PASSWORD", "pw"),
        ("MY_PAT", "pat"),
        ("aws_secret_access_key", "x"),
        ("EDITOR", "vi"),
        ("LC_ALL", "C"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn names(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn secrets_are_withheld_by_default() {
    let out = EnvPolicy::default().apply(vars());
    assert_eq!(names(&out), ["EDITOR", "HOME", "LC_ALL", "PATH"]);
}

#[test]
fn opting_in_and_core_and_include_only() {
    let all = EnvPolicy {
        ignore_default_excludes: true,
        ..Default::default()
    }
    .apply(vars());
    assert_eq!(all.len(), 9);
    let core = EnvPolicy {
        inherit: Inherit::Core,
        ..Default::default()
    }
    .apply(vars());
    assert_eq!(names(&core), ["HOME", "LC_ALL", "PATH"]);
    let set = EnvPolicy {
        inherit: Inherit::None,
        set: BTreeMap::from([("OPENAI_API_KEY".into(), "given".into())]),
        ..Default::default()
    }
    .apply(vars());
    assert_eq!(set, [("OPENAI_API_KEY".to_string(), "given".to_string())]);
    let only = EnvPolicy {
        include_only: vec!["PA*".into()],
        exclude: vec!["home".into()],
        ..Default::default()
    }
    .apply(vars());
    assert_eq!(names(&only), ["PATH"]);
}

#[test]
fn globs() {
    assert!(glob_match("*KEY*", "openai_api_key"));
    assert!(glob_match("*_PAT", "GH_PAT"));
    assert!(!glob_match("*_PAT", "PATH"));
    assert!(glob_match("A?C", "abc"));
}

// Fake key material, assembled at run time so no token-shaped literal sits in the source.
const R36: &str = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
const R48: &str = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC4eF6gH8jK0";
const HEX32: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const LETTERS34: &str = "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh";

fn cat(parts: &[&str]) -> String {
    parts.concat()
}

const KEEP: Option<SecretRule> = None;

fn n(pattern: &'static str) -> Option<SecretRule> {
    Some(SecretRule::Name(pattern))
}

fn v(shape: &'static str) -> Option<SecretRule> {
    Some(SecretRule::Value(shape))
}

/// (name, value, expected): `KEEP`, or the rule that withholds it.
fn table() -> Vec<(&'static str, String, Option<SecretRule>)> {
    use shape::*;
    let hex64 = cat(&[HEX32, HEX32]);
    let rows: Vec<(&'static str, String, Option<SecretRule>)> = vec![
        // Ordinary variables: kept.
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into(), KEEP),
        ("HOME", "/home/alice".into(), KEEP),
        ("LANG", "en_US.UTF-8".into(), KEEP),
        ("TERM", "xterm-256color".into(), KEEP),
        ("PWD", "/srv/project".into(), KEEP),
        ("OLDPWD", "/work".into(), KEEP),
        ("SHELL", "/bin/bash".into(), KEEP),
        ("USER", "alice".into(), KEEP),
        ("CARGO_HOME", "/home/alice/.cargo".into(), KEEP),
        ("RUSTUP_HOME", "/home/alice/.rustup".into(), KEEP),
        ("VIRTUAL_ENV", "/home/alice/.venvs/app".into(), KEEP),
        ("NODE_ENV", "production".into(), KEEP),
        ("GIT_AUTHOR_NAME", "Alice Example".into(), KEEP),
        ("GIT_AUTHOR_EMAIL", "alice@example.com".into(), KEEP),
        ("http_proxy", "http://proxy.corp.example:3128".into(), KEEP),
        (
            "HTTPS_PROXY",
            "http://alice@proxy.corp.example:3128".into(),
            KEEP,
        ),
        ("NO_PROXY", "localhost,127.0.0.1,.corp.example".into(), KEEP),
        ("GOPROXY", "https://proxy.golang.org,direct".into(), KEEP),
        ("DATABASE_URL", "postgres://localhost/db".into(), KEEP),
        (
            "DATABASE_URL",
            "postgres://app@localhost:5432/db".into(),
            KEEP,
        ),
        (
            "GIT_REMOTE",
            "ssh://git@github.com/org/repo.git".into(),
            KEEP,
        ),
        ("GIT_REMOTE", "git@github.com:org/repo.git".into(), KEEP),
        ("XDG_SESSION_ID", "2".into(), KEEP),
        ("XDG_SESSION_TYPE", "wayland".into(), KEEP),
        (
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/run/user/1000/bus".into(),
            KEEP,
        ),
        ("DESKTOP_SESSION", "ubuntu".into(), KEEP),
        ("NETRC", "/home/alice/.netrc".into(), KEEP),
        ("SSH_AUTH_SOCK", "/tmp/ssh-XXXXabcd/agent.1234".into(), KEEP),
        ("TODO", "task-list".into(), KEEP),
        (
            "NOTE",
            "ask-questions-before-running-the-command-12345".into(),
            KEEP,
        ),
        ("BRANCH", "sk-2024-release-branch-name-draft".into(), KEEP),
        (
            "BRANCH",
            "sk-averyveryverylongwordwithoutdigits".into(),
            KEEP,
        ),
        ("PIP_OPTS", "--upgrade scikit-learn sk-learn".into(), KEEP),
        (
            "LS_COLORS",
            "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35".into(),
            KEEP,
        ),
        (
            "JAVA_TOOL_OPTIONS",
            "-Dfile.encoding=UTF-8 -Xmx2g".into(),
            KEEP,
        ),
        (
            "GIT_COMMIT",
            "9fceb02d0ae598e95dc970b74767f19372d61af8".into(),
            KEEP,
        ),
        (
            "BUILD_ID",
            "123e4567-e89b-12d3-a456-426614174000".into(),
            KEEP,
        ),
        (
            "CONN",
            "Server=db;Database=app;Trusted_Connection=True;".into(),
            KEEP,
        ),
        (
            "PGCONN",
            "host=db user=app dbname=shop sslmode=require".into(),
            KEEP,
        ),
        ("DOCKER_HOST", "unix:///var/run/docker.sock".into(), KEEP),
        (
            "LINK",
            "https://example.com/search?user=alice&page=2".into(),
            KEEP,
        ),
        ("LINK", "https://example.com/@alice:matrix.org".into(), KEEP),
        ("IMAGE", cat(&["ubuntu:22.04@sha256:", &hex64]), KEEP),
        ("HEADER", "eyJhbGciOiJIUzI1NiJ9".into(), KEEP),
        ("AUTH_MODE", "Basic authentication".into(), KEEP),
        ("SAYING", "Bearer of bad news".into(), KEEP),
        (
            "DB_TEMPLATE",
            "postgres://app:${DB_PASSWORD}@db/app".into(),
            KEEP,
        ),
        (
            "DB_TEMPLATE",
            "postgres://app:$DB_PASSWORD@db/app".into(),
            KEEP,
        ),
        (
            "CI_REMOTE",
            "https://oauth2:{{ token }}@gitlab.example.com/x".into(),
            KEEP,
        ),
        ("MASKED", "postgres://app:****@db/app".into(), KEEP),
        ("EMPTY_PW", "https://user:@host.example/x".into(), KEEP),
        (
            "PG_TEMPLATE",
            "host=db password=${PGPASS_VALUE}".into(),
            KEEP,
        ),
        ("AWS_REGION", "us-east-1".into(), KEEP),
        ("SENTRY_ENVIRONMENT", "production".into(), KEEP),
        ("HF_HOME", "/home/alice/.cache/huggingface".into(), KEEP),
        ("NOTE", "AKIA is how AWS access key ids start".into(), KEEP),
        ("NOTE", cat(&["XAKIA", "IOSFODNN7EXAMPLE"]), KEEP),
        (
            "NPM_CONFIG_REGISTRY",
            "https://registry.npmjs.org/".into(),
            KEEP,
        ),
        ("PS1", "\\u@\\h:\\w\\$ ".into(), KEEP),
        ("MANPAGER", "sh -c 'col -bx | bat -l man -p'".into(), KEEP),
        (
            "ENV_DUMP",
            "OLDPWD=/home/alice pwd_history=/tmp/x".into(),
            KEEP,
        ),
        ("MAKEFLAGS", "-j4 --no-print-directory".into(), KEEP),
        ("GH_REPO", "https://github.com/org/repo".into(), KEEP),
        ("PIP_INDEX_URL", "https://pypi.org/simple".into(), KEEP),
        ("EDITOR", "code --wait".into(), KEEP),
        (
            "OPTS",
            "password_file=/run/secrets/db passwordless=true".into(),
            KEEP,
        ),
        ("CONN", "Server=db;User Id=app;Password=;".into(), KEEP),
        (
            "GREETING",
            "h\u{e9}llo w\u{f6}rld ://\u{fc}@x:".into(),
            KEEP,
        ),
        (
            "CA",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".into(),
            KEEP,
        ),
        (
            "PUB",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----".into(),
            KEEP,
        ),
        ("SHORT", "ghp_abc sk-abc glpat-x xoxb-1 hf_abc".into(), KEEP),
        ("LONGER", cat(&["AKIA", "IOSFODNN7EXAMPLEXYZ"]), KEEP),
        ("HEXISH", cat(&["SK", HEX32, "ff"]), KEEP),
        // By name.
        ("OPENAI_API_KEY", "sk-1".into(), n("*KEY*")),
        ("KEYTIMEOUT", "1".into(), n("*KEY*")),
        ("AWS_SECRET_ACCESS_KEY", "x".into(), n("*KEY*")),
        ("CLIENT_SECRET", "x".into(), n("*SECRET*")),
        ("GITHUB_TOKEN", "x".into(), n("*TOKEN*")),
        ("PGPASSWORD", "x".into(), n("*PASSWORD*")),
        ("PGPASSFILE", "/home/alice/.pgpass".into(), n("PGPASS*")),
        ("MYSQL_PASSWD", "x".into(), n("*PASSWD*")),
        ("GPG_PASSPHRASE", "x".into(), n("*PASSPHRASE*")),
        ("DB_CREDENTIALS", "x".into(), n("*CREDENTIAL*")),
        ("GH_PAT", "x".into(), n("*_PAT")),
        ("NPM_CONFIG__AUTH", "x".into(), n("*_AUTH")),
        ("SMTP_PASS", "x".into(), n("*_PASS")),
        ("DB_PWD", "x".into(), n("*_PWD")),
        ("SENTRY_DSN", "x".into(), n("*_DSN")),
        ("DSN", "x".into(), n("DSN")),
        ("SLACK_WEBHOOK_URL", "x".into(), n("*WEBHOOK*")),
        ("SESSION_COOKIE", "x".into(), n("*COOKIE*")),
        ("DOCKER_AUTH_CONFIG", "{}".into(), n("DOCKER_AUTH_CONFIG")),
        ("BW_SESSION", "x".into(), n("BW_SESSION")),
        ("OP_SESSION_my", "x".into(), n("OP_SESSION_*")),
        // URLs with credentials.
        (
            "DATABASE_URL",
            "postgres://app:hunter2@db:5432/app".into(),
            v(URL_PASSWORD),
        ),
        (
            "DATABASE_URL",
            "postgresql://app:hunter2@db/app?sslmode=require".into(),
            v(URL_PASSWORD),
        ),
        (
            "REDIS_URL",
            "redis://:hunter2@cache:6379/0".into(),
            v(URL_PASSWORD),
        ),
        (
            "MYSQL_URL",
            "mysql://root:pw123@127.0.0.1/db".into(),
            v(URL_PASSWORD),
        ),
        (
            "AMQP_URL",
            "amqp://guest:guest@rabbit:5672/".into(),
            v(URL_PASSWORD),
        ),
        (
            "MONGO_URL",
            "mongodb+srv://app:s3cr3t@cluster0.abcde.mongodb.net/db?retryWrites=true".into(),
            v(URL_PASSWORD),
        ),
        (
            "MONGO_URL",
            "mongodb://app:s3cr3t@h1:27017,h2:27017/db".into(),
            v(URL_PASSWORD),
        ),
        (
            "HTTP_PROXY",
            "http://alice:pa55@proxy:3128".into(),
            v(URL_PASSWORD),
        ),
        (
            "PROXIES",
            "http://proxy-a:3128, https://bob:pw@proxy-b:3128".into(),
            v(URL_PASSWORD),
        ),
        (
            "ENV_LINE",
            "http_proxy=http://u:p@proxy:3128".into(),
            v(URL_PASSWORD),
        ),
        (
            "GIT_URL",
            "https://x-access-token:abc123xyz@github.com/o/r.git".into(),
            v(URL_PASSWORD),
        ),
        (
            "JDBC_URL",
            "jdbc:mysql://app:hunter2@db:3306/app".into(),
            v(URL_PASSWORD),
        ),
        (
            "ODD_URL",
            "https://user@example.com:pw@host/x".into(),
            v(URL_PASSWORD),
        ),
        (
            "UNICODE_PW",
            "postgres://app:p\u{e4}ss@db/app".into(),
            v(URL_PASSWORD),
        ),
        (
            "ERROR_SINK",
            cat(&["https://", HEX32, "@o123.ingest.sentry.io/1"]),
            v(URL_KEY_USER),
        ),
        // Connection strings and credential fields.
        (
            "JDBC_URL",
            "jdbc:postgresql://db:5432/app?user=app&password=hunter2".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "JDBC_URL",
            "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=Hunter2!".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "CONN",
            "Server=tcp:db.example,1433;Database=app;User Id=app;Password=Hunter2!;".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "ODBC",
            "Driver={ODBC Driver 18};Server=db;UID=app;PWD=Hunter2;".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "PGCONN",
            "host=db port=5432 user=app password=hunter2 dbname=app".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "PGCONN",
            "host=db password = 'two words'".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "CLI_OPTS",
            "--host db --password=hunter2".into(),
            v(PASSWORD_FIELD),
        ),
        ("CLI_OPTS", "--db_passwd=hunter2".into(), v(PASSWORD_FIELD)),
        (
            "JSON",
            "{\"user\":\"app\", \"password\": \"hunter2\"}".into(),
            v(PASSWORD_FIELD),
        ),
        (
            "AZURE_STORAGE",
            cat(&[
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=",
                R48,
                "==;",
            ]),
            v(KEY_FIELD),
        ),
        (
            "CALLBACK",
            "https://api.example.com/cb?client_id=x&client_secret=abc123".into(),
            v(KEY_FIELD),
        ),
        (
            "FEED",
            "https://api.example.com/feed?api_key=abc123def".into(),
            v(KEY_FIELD),
        ),
        // Token shapes.
        ("LLM", cat(&["sk-", R48]), v("OpenAI-style API key")),
        (
            "LLM",
            cat(&["sk-proj-", R48, "_", R36]),
            v("OpenAI-style API key"),
        ),
        (
            "LLM",
            cat(&["sk-ant-api03-", R48, "-", R48]),
            v("Anthropic API key"),
        ),
        (
            "ARGS",
            cat(&["--verbose,token=ghp_", R36]),
            v("GitHub token"),
        ),
        ("GH", cat(&["gho_", R36]), v("GitHub token")),
        ("GH", cat(&["ghu_", R36]), v("GitHub token")),
        ("GH", cat(&["ghs_", R36]), v("GitHub token")),
        ("GH", cat(&["ghr_", R36]), v("GitHub token")),
        (
            "GH",
            cat(&["github_pat_11ABCDEFG0", "_", R48]),
            v("GitHub token"),
        ),
        (
            "GL",
            cat(&["glpat-", "xYz12-AbC34_dEf56gHi7"]),
            v("GitLab token"),
        ),
        (
            "AWS_ID",
            cat(&["AKIA", "IOSFODNN7EXAMPLE"]),
            v("AWS access key id"),
        ),
        (
            "AWS_ID",
            cat(&["id=ASIA", "Y34FZKBOKMUTVV7A;"]),
            v("AWS access key id"),
        ),
        (
            "SLACK",
            cat(&[
                "xoxb-",
                "1234567890-1234567890123-",
                "AbCdEfGhIjKlMnOpQrStUvWx",
            ]),
            v("Slack token"),
        ),
        (
            "SLACK",
            cat(&["xoxp-", "1234567890-1234567890123-", R36]),
            v("Slack token"),
        ),
        (
            "SLACK",
            cat(&["xapp-", "1-A0123456789-1234567890123-", HEX32]),
            v("Slack token"),
        ),
        ("GOOGLE", cat(&["AIza", &R36[..35]]), v("Google API key")),
        (
            "GOOGLE",
            cat(&["ya29.", "a0AfH6SMBx", R36]),
            v("Google OAuth token"),
        ),
        (
            "ID",
            cat(&[
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
                "eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ]),
            v(JWT),
        ),
        (
            "SSH_ID",
            cat(&[
                "-----BEGIN OPENSSH ",
                "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END",
            ]),
            v(PRIVATE_KEY),
        ),
        (
            "TLS",
            cat(&["cert\n-----BEGIN RSA ", "PRIVATE KEY-----\nMIIE"]),
            v(PRIVATE_KEY),
        ),
        (
            "NPM",
            cat(&["//registry.npmjs.org/:_authToken=npm_", R36]),
            v("npm token"),
        ),
        (
            "PYPI",
            cat(&["pypi-", "AgEIcHlwaS5vcmc", R48]),
            v("PyPI token"),
        ),
        ("HF", cat(&["hf_", LETTERS34]), v("Hugging Face token")),
        ("DO", cat(&["dop_v1_", &hex64]), v("DigitalOcean token")),
        (
            "MAIL",
            cat(&["SG.", &R36[..22], ".", &R48[..43]]),
            v(SENDGRID),
        ),
        ("SQUARE", cat(&["sq0atp-", &R36[..22]]), v("Square token")),
        ("STRIPE", cat(&["sk_live_", &R36[..24]]), v("Stripe key")),
        ("STRIPE", cat(&["rk_live_", &R36[..24]]), v("Stripe key")),
        ("STRIPE", cat(&["sk_test_", &R36[..24]]), v("Stripe key")),
        ("TWILIO", cat(&["SK", HEX32]), v("Twilio API key")),
        ("DOCKER", cat(&["dckr_pat_", R36]), v("Docker Hub token")),
        (
            "HEADERS",
            cat(&["Authorization: Bearer ", R36]),
            v(AUTH_HEADER),
        ),
        (
            "HEADERS",
            "Authorization: Basic dXNlcjpwYXNzd29yZA==".into(),
            v(AUTH_HEADER),
        ),
    ];
    rows
}

#[test]
fn secret_rules_table() {
    let rows = table();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut wrong = Vec::new();
    for (name, value, expected) in &rows {
        let got = secret_rule(name, value);
        if got != *expected {
            wrong.push(format!(
                "{name}={value:?}: expected {expected:?}, got {got:?}"
            ));
        }
        // The same verdict through the policy, one variable at a time.
        let (env, withheld) =
            EnvPolicy::default().apply_reporting([(name.to_string(), value.clone())]);
        assert_eq!(env.is_empty(), expected.is_some(), "{name}={value:?}");
        assert_eq!(withheld.len(), usize::from(expected.is_some()));
        // Opting out keeps everything.
        let (env, withheld) = EnvPolicy {
            ignore_default_excludes: true,
            ..Default::default()
        }
        .apply_reporting([(name.to_string(), value.clone())]);
        assert_eq!(env.len(), 1);
        assert!(withheld.is_empty());
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Truncated values (every prefix and suffix of every row) scan without panicking.
#[test]
fn truncated_values_do_not_panic() {
    for (_, value, _) in table() {
        for (i, _) in value.char_indices() {
            let _ = secret_value_shape(&value[..i]);
            let _ = secret_value_shape(&value[i..]);
        }
    }
}

#[test]
fn value_rules_follow_the_policy_knobs() {
    let url = "postgres://app:hunter2@db/app".to_string();
    let vars = || {
        vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("DATABASE_URL".to_string(), url.clone()),
            ("PROXY".to_string(), "http://u:p@proxy:3128".to_string()),
            ("EXCLUDED".to_string(), "http://u:p@x".to_string()),
        ]
    };
    let policy = EnvPolicy {
        exclude: vec!["excluded".into()],
        ..Default::default()
    };
    let (env, withheld) = policy.apply_reporting(vars());
    assert_eq!(names(&env), ["PATH"]);
    // Sorted; the user's own `exclude` is not reported as a secret rule.
    assert_eq!(
        withheld,
        [
            (
                "DATABASE_URL".to_string(),
                SecretRule::Value(shape::URL_PASSWORD)
            ),
            ("PROXY".to_string(), SecretRule::Value(shape::URL_PASSWORD)),
        ]
    );
    // An explicit `set` wins, and the replaced variable is not reported.
    let policy = EnvPolicy {
        set: BTreeMap::from([("DATABASE_URL".into(), url.clone())]),
        ..Default::default()
    };
    let (env, withheld) = policy.apply_reporting(vars());
    assert_eq!(names(&env), ["DATABASE_URL", "PATH"]);
    assert_eq!(env[0].1, url);
    assert_eq!(names_of(&withheld), ["EXCLUDED", "PROXY"]);
    // `include_only` still decides what is left, `set` included.
    let policy = EnvPolicy {
        include_only: vec!["PATH".into(), "PROXY".into()],
        set: BTreeMap::from([("OTHER".into(), "x".into())]),
        ..Default::default()
    };
    let (env, withheld) = policy.apply_reporting(vars());
    assert_eq!(names(&env), ["PATH"]);
    assert_eq!(names_of(&withheld), ["PROXY"]);
    // Opting out of the default excludes turns the value rules off too.
    let policy = EnvPolicy {
        ignore_default_excludes: true,
        ..Default::default()
    };
    let (env, withheld) = policy.apply_reporting(vars());
    assert_eq!(env.len(), 4);
    assert!(withheld.is_empty());
}

fn names_of(w: &[(String, SecretRule)]) -> Vec<&str> {
    w.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn withheld_message_names_rules_and_never_values() {
    let withheld = [
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            SecretRule::Name("*SECRET*"),
        ),
        (
            "DATABASE_URL".to_string(),
            SecretRule::Value(shape::URL_PASSWORD),
        ),
    ];
    assert_eq!(
        withheld_message(&withheld),
        "shell_environment_policy: withheld from commands: \
         AWS_SECRET_ACCESS_KEY (name *SECRET*), DATABASE_URL (value: URL with password)"
    );
    // Every dropped row of the table: the message is exactly names and static rule text,
    // and contains no value.
    let rows: Vec<_> = table().into_iter().filter(|r| r.2.is_some()).collect();
    for (name, value, _) in &rows {
        let (_, withheld) =
            EnvPolicy::default().apply_reporting([(name.to_string(), value.clone())]);
        let msg = withheld_message(&withheld);
        let rule = withheld[0].1;
        assert_eq!(
            msg,
            format!("shell_environment_policy: withheld from commands: {name} ({rule})")
        );
        if value.len() >= 4 {
            assert!(!msg.contains(value.as_str()), "{name}: {msg}");
        }
    }
}

/// The event actually emitted by `apply`, captured by a minimal subscriber: it lists the
/// names and rules, and no value text.
#[test]
fn debug_log_has_names_not_values() {
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    struct Capture(Arc<Mutex<Vec<String>>>);
    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push_str(&format!("{}={:?} ", field.name(), value));
        }
    }
    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            if let Ok(mut events) = self.0.lock() {
                events.push(fields.0);
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    const CANARY: &str = "Canary7Canary7Canary7";
    let vars = [
        ("PATH", "/bin".to_string()),
        ("DATABASE_URL", format!("postgres://app:{CANARY}@db/app")),
        (
            "ERROR_SINK",
            format!("https://{CANARY}{CANARY}@o1.ingest.sentry.io/1"),
        ),
        ("PGCONN", format!("host=db password={CANARY}")),
        ("ARGS", format!("--token ghp_{CANARY}{CANARY}")),
        ("STRIPE_SECRET_KEY", format!("sk_live_{CANARY}")),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let events = Arc::new(Mutex::new(Vec::new()));
    let env = tracing::subscriber::with_default(Capture(events.clone()), || {
        EnvPolicy::default().apply(vars.clone())
    });
    assert_eq!(names(&env), ["PATH"]);
    let events = events.lock().map(|e| e.clone()).unwrap_or_default();
    assert_eq!(events.len(), 1, "{events:?}");
    let log = &events[0];
    assert!(
        log.contains(
            "ARGS (value: GitHub token), DATABASE_URL (value: URL with password), \
             ERROR_SINK (value: URL with a key as user), \
             PGCONN (value: connection string with password), \
             STRIPE_SECRET_KEY (name *KEY*)"
        ),
        "{log}"
    );
    assert!(!log.contains("Canary"), "{log}");
    assert!(!log.contains("hunter") && !log.contains("ghp_"), "{log}");
    // Nothing withheld: no event at all.
    let quiet = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::with_default(Capture(quiet.clone()), || {
        EnvPolicy::default().apply([("PATH".to_string(), "/bin".to_string())])
    });
    assert!(quiet.lock().map(|e| e.is_empty()).unwrap_or(false));
}
