use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = regula::cli::Cli::parse();
    let settings = match regula::cli::settings(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    regula::init_tracing(&settings.log);
    match regula::cli::run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
