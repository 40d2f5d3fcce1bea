//! `keygate-openapi`: prints the API's OpenAPI document, generated from keygate's request and
//! response types (`make openapi` writes it to infra/openapi.json). `keygate-openapi --check
//! FILE` exits non-zero when FILE is not what the code generates, naming the first place they
//! differ (`make test` runs it on infra/openapi.json).

mod check;
mod document;

use std::process::ExitCode;

const USAGE: &str = "usage: keygate-openapi [--check FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let generated = match document::generate() {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("the document does not serialize: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.as_slice() {
        [] => {
            print!("{}", document::render(&generated));
            ExitCode::SUCCESS
        }
        [flag, file] if flag == "--check" => match std::fs::read_to_string(file) {
            Ok(committed) => match check::compare(&committed, &generated) {
                Ok(()) => ExitCode::SUCCESS,
                Err(why) => {
                    eprintln!(
                        "{file} is not the document the code generates: {why}\n\
                         Regenerate it with `make openapi` and commit the result."
                    );
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("{file}: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
