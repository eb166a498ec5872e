//! The `starkroute` binary: a thin shell over `starkroute_server::cli`.

fn main() -> std::process::ExitCode {
    starkroute_server::cli::main()
}
