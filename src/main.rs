use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(fxrates::main_exit().code())
}
