//! `cargo xtask run`: the whole scenario locally (mock-platform, bsclient, approuter).

use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), Error> {
    Err(Error::NotImplemented("run"))
}
