//! `wright serve`: the web UI and the App Server's WebSocket on one loopback port, behind a
//! per-launch token. The TUI can join the same server with `wright --connect ws://...`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use wright_app_server::ws_auth;
use wright_app_server::AppServer;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (default: a free one, printed).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Open the web UI in the default browser.
    #[arg(long)]
    open: bool,

    /// Working directory for new threads.
    #[arg(short = 'C', long = "cd")]
    cd: Option<PathBuf>,

    /// Override a config value for every thread: `-c key=value`.
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    config: Vec<String>,

    /// Also write the access token to PATH (mode 0600), for
    /// `wright --connect ws://127.0.0.1:PORT --token-file PATH`.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,

    /// Keep no thread on disk.
    #[arg(long)]
    ephemeral: bool,
}

pub fn main(args: ServeArgs) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("Error: {err:#}");
            1
        }
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.cd {
        std::env::set_current_dir(dir).with_context(|| format!("--cd {}", dir.display()))?;
    }
    let options = crate::app_server::server_options(args.config, args.ephemeral)?;
    let token = ws_auth::generate_token();
    if let Some(path) = &args.token_file {
        crate::app_server::write_private(path, &token)?;
    }
    let Some(runtime) = crate::runtime() else {
        anyhow::bail!("cannot start the async runtime");
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        if wright_web::ui_built() {
            eprintln!("wright serve: the web UI and the App Server on {base}");
            eprintln!("Open this link (it carries this launch's access token; keep it private):");
        } else {
            eprintln!("wright serve: {}.", wright_web::HOW_TO_BUILD);
            eprintln!("The App Server is on ws://{addr} meanwhile (token in the link below).");
        }
        // The token travels in the fragment: browsers never send it to a server or in a
        // Referer, and the page removes it from the address bar and history.
        let url = format!("{base}/#token={token}");
        println!("{url}");
        match &args.token_file {
            Some(path) => eprintln!(
                "Terminal UI on the same threads: wright --connect ws://{addr} --token-file {}",
                path.display()
            ),
            None => eprintln!(
                "Terminal UI on the same threads: WRIGHT_APP_SERVER_TOKEN=<token> wright --connect ws://{addr}"
            ),
        }
        if args.open {
            open_browser(&options.wright_home, &url);
        }
        let server = AppServer::new(options);
        let web = wright_web::WebOptions {
            token_sha256: ws_auth::token_sha256(&token),
        };
        wright_web::serve(server, listener, web)
            .await
            .context("wright serve stopped")
    })
}

/// Hands the link to the desktop's opener; a failure is reported, and the link is printed
/// anyway. The opener gets a file that redirects to the link, not the link itself: a command
/// line is readable by every user of the machine (`ps`), a file of mode 0600 is not.
fn open_browser(wright_home: &std::path::Path, url: &str) {
    let page = match redirect_page(wright_home, url) {
        Ok(page) => page,
        Err(e) => {
            eprintln!(
                "wright serve: could not open a browser ({e:#}); open the link above yourself"
            );
            return;
        }
    };
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(&page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reap the opener, then give the browser time to read the page before it goes.
            std::thread::spawn(move || {
                let _ = child.wait();
                std::thread::sleep(std::time::Duration::from_secs(60));
                let _ = std::fs::remove_file(&page);
            });
        }
        Err(e) => {
            let _ = std::fs::remove_file(&page);
            eprintln!(
                "wright serve: could not open a browser ({opener}: {e}); open the link above yourself"
            );
        }
    }
}

/// `$WRIGHT_HOME/serve/open-PID.html` (0600): a page that sends the browser on to `url`.
fn redirect_page(wright_home: &std::path::Path, url: &str) -> anyhow::Result<PathBuf> {
    let dir = wright_home.join("serve");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let page = dir.join(format!("open-{}.html", std::process::id()));
    // The link is ours (digits, hex, `:/#=.`): nothing in it needs escaping, but say so loudly
    // if that ever changes rather than write markup from it.
    anyhow::ensure!(
        url.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/#=.".contains(c)),
        "unexpected characters in the link"
    );
    let html = format!(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={url}\">\
         <title>wright</title><p><a href=\"{url}\">Open wright</a></p>\n"
    );
    crate::app_server::write_private(&page, &html)?;
    Ok(page)
}
