//! `jumeau`: parse the command line and run it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = jumeau::cli::Cli::parse();
    match jumeau::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
