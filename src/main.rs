//! The `samrs` command: hands the arguments to `samrs::run` and exits with its code.

fn main() {
    let code = match samrs::run(std::env::args_os()) {
        Ok(()) => 0,
        Err(failure) => failure.exit_code(),
    };
    std::process::exit(code);
}
