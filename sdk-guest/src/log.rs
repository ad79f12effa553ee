//! Log lines, shown in the job's or the stack's debug log.

use crate::__private::bindings::integrator::extension::log::{Level, write};

/// Detail for developers.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref());
}

/// Normal progress.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref());
}

/// Something unexpected that did not stop the function.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref());
}

/// A failure.
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message.as_ref());
}
