//! Generated programs: coroutine bodies made of steps, and their random
//! generation.
//!
//! Every body is a function `(param $acc i32) (result i32)` that updates
//! its accumulator step by step and returns it. The steps cover what
//! stack switching can do between coroutines: yielding on one of several
//! tags to whichever enclosing driver handles it (possibly several
//! drivers out, forwarding through the ones between), driving a child
//! coroutine (made with `cont.new` and `cont.bind`) under handlers,
//! parking its continuation in a table or a global across collections,
//! abandoning it after some suspensions, answering it with an exception
//! (`resume_throw`), switching straight to a peer coroutine (`switch`),
//! keeping GC objects across all of this, throwing and catching
//! exceptions across coroutines, host calls, and traps of several kinds.

use crate::rng::Rng;

/// Tags a body can yield on (`$y0` ...), each `(param i32) (result i32)`.
pub const YIELD_TAGS: u32 = 3;
/// Exception tags (`$e0` ...), each `(param i32)`.
pub const EXCEPTION_TAGS: u32 = 2;

/// A whole program: body 0 is `main`; a body spawns only bodies with a
/// higher index, so nothing recurses.
#[derive(Debug, Clone)]
pub struct Program {
    pub bodies: Vec<Vec<Step>>,
}

/// Where a driver keeps a child's continuation while it collects garbage,
/// before resuming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Park {
    /// In a local only.
    Local,
    /// In the driver's slot of a table.
    Table,
    /// In a global.
    Global,
    /// In a struct field.
    Struct,
}

/// One step of a body.
#[derive(Debug, Clone)]
pub enum Step {
    /// `acc = acc + value`.
    Add(i32),
    /// Calls the host's `log` with `acc ^ value`.
    Log(i32),
    /// `acc = acc * 31 + (suspend $y<tag> acc)`.
    Yield(u32),
    /// Drives a child coroutine.
    Spawn(Spawn),
    /// `throw $e<tag> acc`.
    Throw(u32),
    /// Runs `body`; an exception of tag `catch` escaping it is caught,
    /// and `acc = acc ^ payload ^ 0x5a5a`.
    Try { body: Vec<Step>, catch: u32 },
    /// Allocates garbage (and so collects now and then).
    Churn,
    /// Keeps `acc` in a struct while `body` runs, then `acc = acc ^
    /// (kept * 5)`.
    Keep(Vec<Step>),
    /// Switches to a peer coroutine; see [`Switch`].
    Switch(Switch),
    /// Traps.
    Trap(TrapKind),
}

/// What a `Step::Trap` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    Unreachable,
    /// `i32.div_u` by zero.
    DivideByZero,
    /// A load beyond the memory's one page.
    OutOfBounds,
    /// `resume` of a null continuation reference.
    NullContinuation,
    /// A second `resume` of the same continuation.
    Consumed,
}

impl TrapKind {
    pub const ALL: [TrapKind; 5] = [
        TrapKind::Unreachable,
        TrapKind::DivideByZero,
        TrapKind::OutOfBounds,
        TrapKind::NullContinuation,
        TrapKind::Consumed,
    ];
}

/// `switch` to a new coroutine running body `peer`, started with `acc ^
/// bind`, in place of everything up to the innermost driver that handles
/// the switch tag. If `back`, the peer ends by switching back with its
/// `acc`, and the switcher goes on with `acc = acc * 13 + that`; if not,
/// the peer returns, and that driver sees its value as its child's.
#[derive(Debug, Clone, Copy)]
pub struct Switch {
    pub peer: usize,
    pub bind: i32,
    pub back: bool,
}

/// A driver: runs body `child`, started with `acc ^ bind` (bound by
/// `cont.bind`), under handlers for `handles`; see `crate::model` for
/// what it does with each suspension.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub child: usize,
    pub bind: i32,
    pub handles: Vec<u32>,
    /// After this many suspensions the driver drops the child.
    pub abandon_after: Option<u32>,
    /// Resumes the child's n-th suspension with an exception instead of
    /// a value (`resume_throw $e0`).
    pub throw_at: Option<u32>,
    pub park: Park,
    /// Handles the switch tag (`(on $sw switch)`).
    pub switches: bool,
}

/// Limits of the generator.
const MAX_BODIES: usize = 6;
const MAX_STEPS: usize = 8;
/// How deeply `Try` and `Keep` nest.
pub const MAX_DEPTH: u32 = 2;

impl Program {
    /// A random program.
    pub fn generate(rng: &mut Rng) -> Program {
        let count = 2 + rng.below(MAX_BODIES as u32 - 1) as usize;
        let bodies = (0..count)
            .map(|index| {
                let place = Place {
                    index,
                    count,
                    depth: 0,
                    in_try: false,
                };
                steps(rng, place)
            })
            .collect();
        Program { bodies }
    }
}

/// Where steps go: in body `index` of `count` bodies, `depth` bodies
/// (`Try`, `Keep`) deep, inside a `Try` or not.
#[derive(Clone, Copy)]
struct Place {
    index: usize,
    count: usize,
    depth: u32,
    in_try: bool,
}

/// Random steps for `place`.
fn steps(rng: &mut Rng, place: Place) -> Vec<Step> {
    let len = 1 + rng.below(MAX_STEPS as u32) as usize;
    (0..len).map(|_| step(rng, place)).collect()
}

fn step(rng: &mut Rng, place: Place) -> Step {
    let Place {
        index,
        count,
        depth,
        in_try,
    } = place;
    let inner = |in_try| Place {
        depth: depth + 1,
        in_try,
        ..place
    };
    let value = |rng: &mut Rng| rng.below(1000) as i32 - 200;
    let later = |rng: &mut Rng| index + 1 + rng.below((count - index - 1) as u32) as usize;
    // `main` has no driver around it: a yield or switch there traps, so
    // it yields rarely, never switches, and spawns instead.
    let (yields, switches) = if index == 0 { (1, 1) } else { (26, 31) };
    let roll = rng.below(100);
    match roll {
        _ if roll < yields => Step::Yield(rng.below(YIELD_TAGS)),
        _ if roll < switches && index + 1 < count => Step::Switch(Switch {
            peer: later(rng),
            bind: value(rng),
            back: rng.below(4) != 0,
        }),
        _ if roll < 50 && index + 1 < count => {
            let child = later(rng);
            // Drivers in `main` handle nearly every tag, the ones inside
            // them leave a third to their outer drivers (switches too).
            let misses = if index == 0 { 40 } else { 3 };
            let handles = (0..YIELD_TAGS).filter(|_| rng.below(misses) != 0).collect();
            let sometimes =
                |rng: &mut Rng, percent| (rng.below(100) < percent).then(|| 1 + rng.below(4));
            Step::Spawn(Spawn {
                child,
                bind: value(rng),
                handles,
                abandon_after: sometimes(rng, 20),
                throw_at: sometimes(rng, 15),
                park: [Park::Local, Park::Table, Park::Global, Park::Struct][rng.below(4) as usize],
                switches: rng.below(misses) != 0,
            })
        }
        // Throws mostly where a `Try` may catch them.
        50 => Step::Throw(rng.below(EXCEPTION_TAGS)),
        51..58 if in_try => Step::Throw(rng.below(EXCEPTION_TAGS)),
        58..67 if depth < MAX_DEPTH => Step::Try {
            body: steps(rng, inner(true)),
            catch: rng.below(EXCEPTION_TAGS),
        },
        67..70 if depth < MAX_DEPTH => Step::Keep(steps(rng, inner(in_try))),
        70..75 => Step::Churn,
        75 => Step::Trap(TrapKind::ALL[rng.below(TrapKind::ALL.len() as u32) as usize]),
        76..88 => Step::Log(value(rng)),
        _ => Step::Add(value(rng)),
    }
}

impl Program {
    /// The programs one step smaller than this one: each with one step (at
    /// any depth) removed, for shrinking a failing program.
    pub fn smaller(&self) -> Vec<Program> {
        let mut out = Vec::new();
        for (b, body) in self.bodies.iter().enumerate() {
            for variant in without_one(body) {
                let mut program = self.clone();
                program.bodies[b] = variant;
                out.push(program);
            }
        }
        out
    }
}

/// `steps` with one step removed, or one step of a nested body removed.
fn without_one(steps: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for i in 0..steps.len() {
        let mut fewer = steps.to_vec();
        fewer.remove(i);
        out.push(fewer);
        let inner = match &steps[i] {
            Step::Try { body, .. } | Step::Keep(body) => body,
            _ => continue,
        };
        for smaller in without_one(inner) {
            let mut changed = steps.to_vec();
            match &mut changed[i] {
                Step::Try { body, .. } | Step::Keep(body) => *body = smaller,
                _ => unreachable!("a step with a body"),
            }
            out.push(changed);
        }
    }
    out
}
