//! The `igrouter` binary: parses the command line, loads the configuration, runs the command and
//! turns the outcome into an exit code (0 clean, 1 runtime failure, 2 bad configuration or usage).

use std::process::ExitCode;

use anyhow::Context;
use app_http::cli::{Cli, Command, CredentialsCommand, EXIT_BAD_CONFIGURATION};
use app_http::{Application, Config, commands, healthcheck, telemetry};

fn main() -> ExitCode {
    let cli = Cli::from_args();
    // A health probe needs neither logging nor an async runtime, and exits 0 or 1 only.
    if let Command::Healthcheck(args) = cli.selected_command() {
        return ExitCode::from(healthcheck::run(&args, &cli.overrides()));
    }
    let config = match Config::from_env(&cli.overrides()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("igrouter: {error}");
            return ExitCode::from(EXIT_BAD_CONFIGURATION);
        }
    };
    let outcome = telemetry::init(&config.server.log).and_then(|()| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("could not start the async runtime")?
            .block_on(run(cli.selected_command(), config))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("igrouter: {error:#}");
            ExitCode::from(commands::exit_code(&error))
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => Application::build(config).await?.run_until_stopped().await,
        Command::Migrate => app_http::migrate(&config.database).await,
        Command::ApiKeys(command) => {
            commands::api_keys(command, &config, &mut std::io::stdout().lock()).await
        }
        Command::Credentials(CredentialsCommand::Rotate) => {
            commands::rotate_credentials(&config, &mut std::io::stdout().lock()).await
        }
        // Handled in `main`, before the configuration is loaded.
        Command::Healthcheck(_) => Ok(()),
    }
}
