//! The `warroom` binary: parses the command line and hands over to the library.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use warroom::config::{Config, Settings, SlackMode};
use warroom::slack::manifest::{Delivery, manifest};
use warroom::startup::Application;
use warroom::store::Store;

/// An incident-response bot for Slack and Discord: war rooms, roles, status-update
/// cadence, recovery actions and postmortem drafts.
#[derive(Parser)]
#[command(name = "warroom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot: apply migrations, serve HTTP, deliver queued chat operations.
    Serve {
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Apply database migrations to $DATABASE_URL and exit.
    Migrate,
    /// Check a config file and print every problem in it; exits non-zero if any.
    CheckConfig {
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a Slack app manifest (JSON) to create the app from: the /incident
    /// command, the scopes and events warroom uses, and where Slack reaches it.
    SlackManifest {
        /// Public base URL of this warroom (e.g. https://warroom.example.com) for
        /// the HTTP endpoints. Without it: Socket Mode if the config says
        /// `slack.mode = "socket"`, else the config's `bot.public_url`.
        #[arg(long)]
        url: Option<String>,
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        config: Option<PathBuf>,
    },
    /// Print the URL that adds the bot to a Discord server, with the scopes and
    /// permissions it needs (application id from $DISCORD_APPLICATION_ID).
    DiscordInvite,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("warroom: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let settings =
        Settings::from_process_env().map_err(|problems| anyhow::anyhow!("{problems}"))?;
    match command {
        Command::Serve { config } => {
            let path = config.unwrap_or_else(|| settings.config_path.clone());
            let config = Config::load(&path).map_err(|problems| anyhow::anyhow!("{problems}"))?;
            let app = Application::build(settings, config).await?;
            tracing::info!(address = %app.local_addr(), "warroom is listening");
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = Store::connect(settings.database_url.expose())
                .await
                .context("connecting to the database")?;
            store.migrate().await.context("applying migrations")?;
            println!("Migrations applied.");
            Ok(ExitCode::SUCCESS)
        }
        Command::DiscordInvite => {
            let id = settings.discord.application_id.context(
                "DISCORD_APPLICATION_ID is not set; it is on the app's General Information page",
            )?;
            println!("{}", warroom::discord::invite::explained(&id));
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => {
            let path = config.unwrap_or_else(|| settings.config_path.clone());
            match Config::load(&path) {
                Ok(_) => {
                    println!("{}: ok", path.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::SlackManifest { url, config } => {
            let delivery = match url {
                Some(url) => Delivery::Http(url),
                None => {
                    let path = config.unwrap_or_else(|| settings.config_path.clone());
                    let config = Config::load(&path).map_err(|problems| {
                        anyhow::anyhow!("{problems}\n(or pass --url https://… to skip the config)")
                    })?;
                    match config.slack().map(|slack| slack.mode) {
                        Some(SlackMode::Socket) => Delivery::Socket,
                        _ => Delivery::Http(config.public_url().to_string()),
                    }
                }
            };
            if let Delivery::Http(url) = &delivery
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                anyhow::bail!("--url must be an http(s) URL, like https://warroom.example.com");
            }
            let text = serde_json::to_string_pretty(&manifest(&delivery))?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `RUST_LOG` decides what is logged (default: warroom's own info and above), on
/// stderr, so stdout stays for what a command prints.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warroom=info,warn"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
}

/// Ctrl-C or SIGTERM: stop accepting work and let in-flight deliveries finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
