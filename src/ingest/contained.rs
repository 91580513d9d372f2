//! Third-party parsers that panic on hostile files: the panic is caught and becomes the file's
//! one-line failure reason. The process-wide panic hook stays quiet for these (no "thread
//! panicked" message and no backtrace on the terminal or in the log), and reports any other
//! panic as before.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Run `parse`; a panic inside it becomes `Err(reason)`, one line of at most 200 characters.
pub fn catch<T>(parse: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(parse));
    CONTAINED.with(|c| c.set(outer));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an unknown error".to_string());
        let line = message.lines().next().unwrap_or_default().trim();
        line.chars().take(200).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_first_line() {
        let r: Result<(), String> = catch(|| panic!("missing unicode map and encoding\nat depth"));
        assert_eq!(r.unwrap_err(), "missing unicode map and encoding");
        let long = "x".repeat(500);
        let r: Result<(), String> = catch(|| panic!("{long}"));
        assert_eq!(r.unwrap_err().len(), 200);
        assert_eq!(catch(|| 7), Ok(7));
        // Nested catches restore the flag.
        let r = catch(|| catch(|| -> u8 { panic!("inner") }).unwrap_err());
        assert_eq!(r.as_deref(), Ok("inner"));
        assert!(!CONTAINED.with(Cell::get));
    }
}
