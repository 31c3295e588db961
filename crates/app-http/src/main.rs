//! The `igrouter` binary: parses the command line, loads the configuration, runs the command and
//! turns the outcome into an exit code (0 clean, 1 runtime failure, 2 bad configuration or usage).

use std::process::ExitCode;

use anyhow::Context;
use app_http::cli::{Cli, Command, CredentialsCommand, EXIT_BAD_CONFIGURATION};
use app_http::{Application, Config, commands, telemetry};

fn main() -> ExitCode {
    let cli = Cli::from_args();
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
    }
}
