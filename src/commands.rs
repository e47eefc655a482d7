//! The commands: parse the arguments, resolve the settings once, and hand them to the build
//! pipeline ([`crate::run`]), the watch loop ([`crate::watch`]) or the local runner
//! ([`crate::local`]); the outcome is printed here.

use std::ffi::OsString;

use anyhow::Context;

use crate::cargo;
use crate::cli::{self, BuildArgs, Command, Parsed};
use crate::error::{Failure, UsageError};
use crate::settings::{Environment, resolve_settings, save_params};
use crate::ui::Ui;

/// Runs samrs with these arguments (the program name first); prints the outcome.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), Failure> {
    let env = Environment::from_process();
    let mut ui = Ui::new(env.no_color());
    let result = match cli::parse(args) {
        Parsed::Run(command) => match *command {
            Command::Build(args) => build_command(&args, &env, &mut ui),
            Command::Local(command) => crate::local::run(&command, &env, &mut ui),
        },
        Parsed::Shown => return Ok(()),
        Parsed::MissingCommand => {
            return Err(Failure::Usage(UsageError {
                message: "Missing command: try 'samrs build'".into(),
                usage: None,
            }));
        }
        Parsed::Invalid(usage) => Err(Failure::Usage(usage)),
    };
    if let Err(failure) = &result {
        ui.failure(failure);
    }
    result
}

/// `samrs build`: resolves the settings once, then builds.
fn build_command(args: &BuildArgs, env: &Environment, ui: &mut Ui) -> Result<(), Failure> {
    cargo::install_interrupt_handler();
    let cwd = std::env::current_dir()
        .context("Unable to read the current folder")
        .map_err(Failure::Settings)?;
    let settings = resolve_settings(args, env, &cwd).map_err(Failure::settings)?;
    ui.format = settings.output;
    ui.debug = settings.debug;
    if settings.save_params {
        let line = save_params(args, &settings).map_err(Failure::Settings)?;
        ui.log(&line);
    }
    if settings.watch {
        let (args, env) = (args.clone(), env.clone());
        let resolve = move || resolve_settings(&args, &env, &cwd);
        return crate::watch::watch(settings, resolve, ui);
    }
    crate::run::build(&settings, ui)
}
