//! `keygate-platform gateway | demo`: runs one of the stand-ins until killed.

use std::process::ExitCode;

use keygate_platform::cli::Flags;
use keygate_platform::{demo, gateway, serve};

const USAGE: &str = "\
usage: keygate-platform gateway [flags]   the local stand-in for the deployed PlatformApi
       keygate-platform demo [flags]      an in-memory stand-in for the platform (never deployed)
       keygate-platform <command> --help";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let (known, help) = match command.as_str() {
        "gateway" => (gateway::FLAGS, gateway::HELP),
        "demo" => (demo::FLAGS, demo::HELP),
        "--help" | "-h" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let refuse = |why: String| {
        eprintln!("keygate-platform {command}: {why}");
        ExitCode::from(2)
    };
    let flags = match Flags::parse(args, known) {
        Ok(flags) => flags,
        Err(why) => return refuse(format!("{why} (see --help)")),
    };
    if flags.help() {
        println!("{help}");
        return ExitCode::SUCCESS;
    }
    let started = if command == "gateway" {
        match gateway::GatewayConfig::from_flags(&flags) {
            Ok(config) => gateway::start(config).await,
            Err(why) => return refuse(why),
        }
    } else {
        match demo::DemoConfig::from_flags(&flags) {
            Ok(config) => demo::start(config).await,
            Err(why) => return refuse(why),
        }
    };
    match started {
        Ok(server) => {
            serve::announce(&server);
            server.wait().await;
            ExitCode::SUCCESS
        }
        Err(e) => refuse(format!("cannot listen: {e}")),
    }
}
