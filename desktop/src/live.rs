//! The live view: redraw the screen every second until q, Esc or Ctrl-C.

use crate::display::{self, Entry};
use crate::Failure;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, terminal};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Restores the terminal however the loop ends.
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = RawMode;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
        let _ = terminal::disable_raw_mode();
    }
}

fn is_quit(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && match key.code {
            KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => true,
            KeyCode::Char('c') | KeyCode::Char('d') => {
                key.modifiers.contains(KeyModifiers::CONTROL)
            }
            _ => false,
        }
}

/// Time until the next whole second, so redraws land as the code's seconds tick.
fn until_next_second() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_nanos(u64::from(1_000_000_000 - nanos.min(999_999_999)))
        + Duration::from_millis(5)
}

fn io(e: std::io::Error) -> Failure {
    Failure::Other(format!("the terminal failed: {e}"))
}

/// Runs the live view; `frame` gives the entries to draw at the current moment.
pub fn run(frame: impl Fn() -> Result<Vec<Entry>, Failure>) -> Result<(), Failure> {
    let _raw = RawMode::enter().map_err(io)?;
    let mut out = std::io::stdout();
    loop {
        let width = terminal::size().map_or(80, |(w, _)| w);
        let lines = display::render(&frame()?, width);
        execute!(
            out,
            cursor::MoveTo(0, 0),
            terminal::Clear(terminal::ClearType::All)
        )
        .map_err(io)?;
        out.write_all(lines.join("\r\n").as_bytes()).map_err(io)?;
        out.flush().map_err(io)?;
        if event::poll(until_next_second()).map_err(io)? {
            match event::read().map_err(io)? {
                Event::Key(key) if is_quit(&key) => return Ok(()),
                _ => {}
            }
        }
    }
}
