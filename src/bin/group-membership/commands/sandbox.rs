//! `sandbox [FILE] [--port N] [--state FILE] [--save-state FILE]`: the four fake services and their control
//! endpoints on loopback, until Ctrl-C or SIGTERM. Prints the base URL first (a line a script can read),
//! then `export` lines pointing FILE's connections at it, then `# ready`.

use std::io::Write;

use group_membership::sandbox::{Sandbox, SandboxState};

use crate::cli::SandboxArgs;
use crate::session::{BoxError, read_state, write_whole};

pub async fn run(args: &SandboxArgs) -> Result<u8, BoxError> {
    let sandbox = Sandbox::start_on(std::net::SocketAddr::new(args.listen, args.port))?;
    if let Some(path) = &args.state {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let state: SandboxState = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a sandbox state: {e}", path.display()))?;
        sandbox
            .apply_state(&state)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut out = format!(
        "SANDBOX listening on {} (loopback only; control endpoints under /_sandbox/; Ctrl-C stops it)\n",
        sandbox.base_url()
    );
    if let Some(file) = &args.file {
        let state = read_state(file)?;
        let (vars, literal) = sandbox.environment(&state);
        for (name, value) in vars {
            out += &format!("export {name}='{value}'\n");
        }
        for name in literal {
            out += &format!(
                "# connection `{name}` has a literal base_url: point it at {} by hand\n",
                sandbox.base_url()
            );
        }
    }
    // A script reads up to this line, then talks to the server.
    out += "# ready\n";
    let mut stdout = std::io::stdout();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    stopped().await;
    if let Some(path) = &args.save_state {
        write_whole(
            path,
            &(serde_json::to_string_pretty(&sandbox.state())? + "\n"),
        )?;
        eprintln!("saved the sandbox's state to {}", path.display());
    }
    Ok(0)
}

/// Until Ctrl-C (SIGINT) or SIGTERM.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
