//! `offboard-host`: see the library crate for the layout, and the README for the exit codes.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(offboard_host::cli::main_with(std::env::args_os()))
}
