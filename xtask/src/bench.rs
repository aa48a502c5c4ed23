//! `cargo xtask bench`: load measurements of the running scenario.

use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), Error> {
    Err(Error::NotImplemented("bench"))
}
