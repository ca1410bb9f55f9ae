//! What a generated program must do, computed from the program itself,
//! never by running an engine.
//!
//! A driver answers each suspension before anything else runs, so the
//! program's effects happen in the order of a plain recursive evaluation:
//! a yield is a call of the innermost enclosing driver that handles its
//! tag, which logs, and answers with a value or an exception, or abandons
//! the child (every frame up to that driver is dropped, nothing unwinds).
//! A switch is a call of the peer with the drivers inside the one that
//! handles it set aside; what leaves the peer other than its switching
//! back (its return, an exception) goes straight to that driver, past the
//! switcher's own handlers.

use crate::program::{Program, Step, Switch, TrapKind};

/// How a run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `main` returned this.
    Returned(i32),
    /// A trap with this message.
    Trap(&'static str),
    /// An exception escaped `main`.
    Uncaught,
    /// The engine failed some other way (its message).
    Failed(String),
}

/// What a run must show: the values logged, in order, and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub log: Vec<i32>,
    pub outcome: Outcome,
}

/// Why evaluation left a body early.
enum Stop {
    Trap(&'static str),
    /// An exception of `tag` with `payload`. `to` is the driver it goes
    /// to straight, if it left a peer (see `Step::Switch`).
    Throw {
        tag: u32,
        payload: i32,
        to: Option<usize>,
    },
    /// The driver with this id dropped its child.
    Abandon(usize),
    /// A peer running in place of the child of the driver with this id
    /// returned this value.
    Finish(usize, i32),
}

/// The message of a trap of `kind`, as fxtime words it.
pub fn trap_message(kind: TrapKind) -> &'static str {
    match kind {
        TrapKind::Unreachable => "unreachable",
        TrapKind::DivideByZero => "integer divide by zero",
        TrapKind::OutOfBounds => "out of bounds memory access",
        TrapKind::NullContinuation => "null continuation reference",
        TrapKind::Consumed => "continuation already consumed",
    }
}

/// The message of a suspension or switch no driver handles.
pub const UNHANDLED: &str = "unhandled tag";

/// A driver's state while its child runs.
struct Driver {
    id: usize,
    handles: Vec<u32>,
    suspensions: u32,
    abandon_after: Option<u32>,
    throw_at: Option<u32>,
    switches: bool,
}

/// How much of what the generator can make a run does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Continuations made (one per driver).
    pub spawned: u64,
    /// Suspensions answered by a driver.
    pub suspensions: u64,
    /// Suspensions answered by a driver other than the innermost.
    pub forwarded: u64,
    /// Children dropped while suspended.
    pub abandoned: u64,
    /// Suspensions answered with an exception.
    pub thrown_in: u64,
    /// Switches to a peer.
    pub switches: u64,
    /// Peers that returned in place of a driver's child.
    pub finished: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.spawned += other.spawned;
        self.suspensions += other.suspensions;
        self.forwarded += other.forwarded;
        self.abandoned += other.abandoned;
        self.thrown_in += other.thrown_in;
        self.switches += other.switches;
        self.finished += other.finished;
    }
}

struct Model<'a> {
    program: &'a Program,
    log: Vec<i32>,
    drivers: Vec<Driver>,
    next_id: usize,
    counts: Counts,
}

/// What running `program`'s `main` with `acc` must give, and what the run
/// does on the way.
pub fn expected(program: &Program, acc: i32) -> (Expected, Counts) {
    let mut model = Model {
        program,
        log: Vec::new(),
        drivers: Vec::new(),
        next_id: 0,
        counts: Counts::default(),
    };
    let outcome = match model.body(0, acc) {
        Ok(value) => Outcome::Returned(value),
        Err(Stop::Trap(message)) => Outcome::Trap(message),
        Err(Stop::Throw { .. }) => Outcome::Uncaught,
        Err(Stop::Abandon(_) | Stop::Finish(..)) => unreachable!("no driver outside main"),
    };
    let expected = Expected {
        log: model.log,
        outcome,
    };
    (expected, model.counts)
}

/// The value a driver logs for a suspension on `tag` with `payload`.
pub fn suspension_log(tag: u32, payload: i32) -> i32 {
    payload ^ ((tag as i32 + 1) << 12)
}

impl Model<'_> {
    fn body(&mut self, index: usize, mut acc: i32) -> Result<i32, Stop> {
        let steps = &self.program.bodies[index];
        self.steps(steps, &mut acc)?;
        Ok(acc)
    }

    fn steps(&mut self, steps: &[Step], acc: &mut i32) -> Result<(), Stop> {
        for step in steps {
            self.step(step, acc)?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step, acc: &mut i32) -> Result<(), Stop> {
        match step {
            Step::Add(value) => *acc = acc.wrapping_add(*value),
            Step::Log(value) => self.log.push(*acc ^ value),
            Step::Yield(tag) => {
                let reply = self.suspend(*tag, *acc)?;
                *acc = acc.wrapping_mul(31).wrapping_add(reply);
            }
            Step::Spawn(spawn) => {
                let id = self.next_id;
                self.next_id += 1;
                self.counts.spawned += 1;
                self.drivers.push(Driver {
                    id,
                    handles: spawn.handles.clone(),
                    suspensions: 0,
                    abandon_after: spawn.abandon_after,
                    throw_at: spawn.throw_at,
                    switches: spawn.switches,
                });
                let result = self.body(spawn.child, *acc ^ spawn.bind);
                self.drivers.pop();
                match result {
                    Ok(value) => *acc = acc.wrapping_mul(7).wrapping_add(value),
                    Err(Stop::Finish(driver, value)) if driver == id => {
                        self.counts.finished += 1;
                        *acc = acc.wrapping_mul(7).wrapping_add(value);
                    }
                    Err(Stop::Abandon(driver)) if driver == id => {
                        self.counts.abandoned += 1;
                        *acc = acc.wrapping_add(1000);
                    }
                    Err(Stop::Throw { tag, payload, to }) if to == Some(id) => {
                        return Err(Stop::Throw {
                            tag,
                            payload,
                            to: None,
                        });
                    }
                    Err(stop) => return Err(stop),
                }
            }
            Step::Throw(tag) => {
                return Err(Stop::Throw {
                    tag: *tag,
                    payload: *acc,
                    to: None,
                });
            }
            Step::Try { body, catch } => match self.steps(body, acc) {
                Err(Stop::Throw {
                    tag,
                    payload,
                    to: None,
                }) if tag == *catch => *acc ^= payload ^ 0x5a5a,
                other => other?,
            },
            Step::Keep(body) => {
                let kept = *acc;
                self.steps(body, acc)?;
                *acc ^= kept.wrapping_mul(5);
            }
            Step::Switch(switch) => {
                let value = self.switch(*switch, *acc)?;
                *acc = acc.wrapping_mul(13).wrapping_add(value);
            }
            Step::Churn => {}
            Step::Trap(kind) => return Err(Stop::Trap(trap_message(*kind))),
        }
        Ok(())
    }

    /// A suspension on `tag` with `payload`: the innermost driver that
    /// handles the tag answers.
    fn suspend(&mut self, tag: u32, payload: i32) -> Result<i32, Stop> {
        let innermost = self.drivers.len();
        let Some((depth, driver)) = self
            .drivers
            .iter_mut()
            .enumerate()
            .rev()
            .find(|(_, d)| d.handles.contains(&tag))
        else {
            return Err(Stop::Trap(UNHANDLED));
        };
        self.counts.suspensions += 1;
        self.counts.forwarded += u64::from(depth + 1 != innermost);
        driver.suspensions += 1;
        self.log.push(suspension_log(tag, payload));
        if driver.abandon_after == Some(driver.suspensions) {
            return Err(Stop::Abandon(driver.id));
        }
        let reply = payload.wrapping_mul(3).wrapping_add(tag as i32);
        if driver.throw_at == Some(driver.suspensions) {
            self.counts.thrown_in += 1;
            return Err(Stop::Throw {
                tag: 0,
                payload: reply,
                to: None,
            });
        }
        Ok(reply)
    }

    /// A switch from a coroutine with `acc` to a new peer: the value the
    /// peer switches back with.
    fn switch(&mut self, switch: Switch, acc: i32) -> Result<i32, Stop> {
        let Some(handler) = self.drivers.iter().rposition(|d| d.switches) else {
            return Err(Stop::Trap(UNHANDLED));
        };
        let id = self.drivers[handler].id;
        self.counts.switches += 1;
        let inside = self.drivers.split_off(handler + 1);
        let result = self.body(switch.peer, acc ^ switch.bind);
        self.drivers.extend(inside);
        match result {
            Ok(value) if switch.back => Ok(value),
            Ok(value) => Err(Stop::Finish(id, value)),
            Err(Stop::Throw {
                tag,
                payload,
                to: None,
            }) => Err(Stop::Throw {
                tag,
                payload,
                to: Some(id),
            }),
            Err(stop) => Err(stop),
        }
    }
}
