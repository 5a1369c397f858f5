//! The `warroom` binary: parses the command line and hands over to the library.

use anyhow::Context as _;
use chrono::Timelike as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use warroom::clock::{ManualClock, ScaledClock, SharedClock};
use warroom::config::{Config, Secret, Settings, SlackMode, lint};
use warroom::console::prompt::{Workers, stdin_lines};
use warroom::console::simulate::ScratchDatabase;
use warroom::console::{ANNOUNCE_CHANNEL, Console, Parts, Screen, Script, Simulation};
use warroom::domain::Platform;
use warroom::slack::manifest::{Delivery, manifest};
use warroom::startup::Application;
use warroom::store::Store;
use warroom::workers::SchedulerSettings;

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
    /// Also prints process warnings (what the config allows but no team wants).
    CheckConfig {
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Exit non-zero on process warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Try warroom in a terminal: the terminal is the chat platform, you type
    /// `/incident …` as a person of the config. No Slack or Discord account needed.
    Console {
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Who you are at first: a key of [people] (default: the first one).
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
        /// Run the clock this many times faster (60: a minute a second).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=3600))]
        speed: u32,
        /// Show pages and actions instead of sending and running them.
        #[arg(long)]
        dry_run: bool,
        /// The database the console keeps its incidents in.
        #[arg(long, default_value = "sqlite://warroom-console.db")]
        database: String,
    },
    /// Play a severity's process on a virtual clock and print what would happen
    /// and when, by the engine `serve` runs. Pages and actions are only shown.
    Simulate {
        /// The severity to declare (a name or an alias).
        severity: String,
        /// The config file (default: $WARROOM_CONFIG, else config/warroom.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// How long to play, from the declaration.
        #[arg(long = "for", default_value = "4h", value_parser = humantime::parse_duration)]
        run_for: Duration,
        /// The commander acknowledges this long after the declaration.
        #[arg(long, value_parser = humantime::parse_duration)]
        ack_after: Option<Duration>,
        /// The comms lead posts a status update this often.
        #[arg(long, value_parser = humantime::parse_duration)]
        updates_every: Option<Duration>,
        /// The commander resolves this long after the declaration.
        #[arg(long, value_parser = humantime::parse_duration)]
        resolve_after: Option<Duration>,
        /// Print JSON (one object per line of output) instead of text.
        #[arg(long)]
        json: bool,
        /// When the simulated incident is declared, like 2026-11-23T14:00:00Z
        /// (default: now, to the minute); a fixed start gives the same output
        /// every run, to compare in CI.
        #[arg(long)]
        start: Option<chrono::DateTime<chrono::Utc>>,
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
    // The console and the simulation talk on stdout; their logs stay to warnings.
    let quiet = matches!(
        cli.command,
        Command::Console { .. } | Command::Simulate { .. }
    );
    init_tracing(if quiet { "warn" } else { "warroom=info,warn" });
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
        Command::CheckConfig { config, strict } => {
            let path = config.unwrap_or_else(|| settings.config_path.clone());
            match Config::load(&path) {
                Ok(config) => {
                    if let Err(problems) = settings.tracker_problems(&config) {
                        eprintln!("{problems}");
                        return Ok(ExitCode::FAILURE);
                    }
                    let warnings = lint(&config);
                    for warning in &warnings {
                        eprintln!("{warning}");
                    }
                    if strict && !warnings.is_empty() {
                        eprintln!("{}: {} warning(s)", path.display(), warnings.len());
                        return Ok(ExitCode::FAILURE);
                    }
                    println!("{}: ok", path.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Console {
            config,
            person,
            speed,
            dry_run,
            database,
        } => {
            let config = load(config, &settings)?;
            let me = match person {
                Some(person) => person,
                None => config
                    .people()
                    .next()
                    .map(|person| person.key.clone())
                    .context("the config has no [people] to be")?,
            };
            let mut settings = settings;
            settings.database_url = Secret::new(database);
            let clock: SharedClock = Arc::new(ScaledClock::new(speed));
            let screen = Screen::terminal(Box::new(std::io::stdout()), config.timezone());
            let parts = Parts::new(settings, &config, screen, clock.clone(), dry_run)?;
            // The workers look as often in the console's time as `serve`'s do in real time.
            let poll = (Duration::from_secs(5) / speed).max(Duration::from_millis(50));
            let app = console_app(&parts, config, clock.clone(), poll).await?;
            let workers = Workers {
                dispatcher: app.dispatcher(),
                scheduler: app.scheduler(),
                actions: app.action_worker(),
                poll,
            };
            let console = Console::new(app.engine(), workers, &parts, clock, &me)?;
            console.run(stdin_lines()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            severity,
            config,
            run_for,
            ack_after,
            updates_every,
            resolve_after,
            json,
            start,
        } => {
            let config = load(config, &settings)?;
            for warning in lint(&config) {
                eprintln!("{warning}");
            }
            let scratch = ScratchDatabase::new();
            let mut settings = settings;
            settings.database_url = Secret::new(scratch.url());
            let start = start.unwrap_or_else(|| {
                // On a whole minute, so that times since the declaration are whole minutes.
                let now = chrono::Utc::now();
                let minute = now - chrono::TimeDelta::seconds(now.timestamp() % 60);
                minute.with_nanosecond(0).unwrap_or(minute)
            });
            let clock = ManualClock::starting_at(start);
            let screen = Screen::recording();
            let parts = Parts::new(settings, &config, screen, Arc::new(clock.clone()), true)?;
            let app = console_app(&parts, config, Arc::new(clock.clone()), Duration::ZERO).await?;
            let workers = (app.dispatcher(), app.scheduler(), app.action_worker());
            let simulation = Simulation::new(app.engine(), workers, &parts, clock);
            let script = Script {
                severity,
                run_for,
                ack_after,
                updates_every,
                resolve_after,
            };
            for line in simulation.run(&script).await? {
                if json {
                    println!("{}", serde_json::to_string(&line)?);
                } else {
                    println!("{line}");
                }
            }
            Ok(ExitCode::SUCCESS)
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

fn load(config: Option<PathBuf>, settings: &Settings) -> anyhow::Result<Config> {
    let path = config.unwrap_or_else(|| settings.config_path.clone());
    Config::load(&path).map_err(|problems| anyhow::anyhow!("{problems}"))
}

/// The application the console and the simulation run: built as `serve` builds
/// it, with the console's parts, and a scheduler that looks every `poll` (a
/// faster clock needs more looks; zero keeps the default).
async fn console_app(
    parts: &Parts,
    config: Config,
    clock: SharedClock,
    poll: Duration,
) -> anyhow::Result<Application> {
    let mut scheduler = SchedulerSettings::default();
    if !poll.is_zero() {
        scheduler.poll_interval = poll;
    }
    let mut builder = Application::builder(parts.settings.clone(), config)
        .clock(clock)
        .platform(parts.platform.clone())
        .announce_channel(Platform::Console, ANNOUNCE_CHANNEL)
        .runner(parts.runner.clone())
        .scheduler(scheduler);
    if let Some(pager) = &parts.pager {
        builder = builder.pager(pager.clone());
    }
    Ok(builder.build().await?)
}

/// `RUST_LOG` decides what is logged (else `default`), on stderr, so stdout
/// stays for what a command prints.
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
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
