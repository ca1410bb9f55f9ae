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
//! (`resume_throw`), throwing and catching exceptions across coroutines,
//! host calls, and traps.

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
    /// `unreachable`.
    Trap,
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
}

/// Limits of the generator.
const MAX_BODIES: usize = 6;
const MAX_STEPS: usize = 8;

impl Program {
    /// A random program.
    pub fn generate(rng: &mut Rng) -> Program {
        let count = 2 + rng.below(MAX_BODIES as u32 - 1) as usize;
        let bodies = (0..count).map(|i| steps(rng, i, count, 0)).collect();
        Program { bodies }
    }
}

/// Random steps for body `index` of `count` bodies, `depth` `Try`s deep.
fn steps(rng: &mut Rng, index: usize, count: usize, depth: u32) -> Vec<Step> {
    let len = 1 + rng.below(MAX_STEPS as u32) as usize;
    (0..len).map(|_| step(rng, index, count, depth)).collect()
}

fn step(rng: &mut Rng, index: usize, count: usize, depth: u32) -> Step {
    let value = |rng: &mut Rng| rng.below(1000) as i32 - 200;
    // `main` has no driver around it: a yield there traps, so it yields
    // rarely and spawns instead.
    let (yields, spawns) = if index == 0 { (1, 50) } else { (30, 50) };
    let roll = rng.below(100);
    match roll {
        _ if roll < yields => Step::Yield(rng.below(YIELD_TAGS)),
        _ if roll < spawns && index + 1 < count => {
            let child = index + 1 + rng.below((count - index - 1) as u32) as usize;
            let handles = (0..YIELD_TAGS).filter(|_| rng.below(6) != 0).collect();
            let sometimes =
                |rng: &mut Rng, percent| (rng.below(100) < percent).then(|| 1 + rng.below(4));
            Step::Spawn(Spawn {
                child,
                bind: value(rng),
                handles,
                abandon_after: sometimes(rng, 20),
                throw_at: sometimes(rng, 15),
                park: [Park::Local, Park::Table, Park::Global, Park::Struct][rng.below(4) as usize],
            })
        }
        // Throws mostly where a `Try` may catch them.
        50..52 => Step::Throw(rng.below(EXCEPTION_TAGS)),
        52..58 if depth > 0 => Step::Throw(rng.below(EXCEPTION_TAGS)),
        58..70 if depth < 2 => Step::Try {
            body: steps(rng, index, count, depth + 1),
            catch: rng.below(EXCEPTION_TAGS),
        },
        70..75 => Step::Churn,
        75 => Step::Trap,
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

/// `steps` with one step removed, or one step of a nested `Try` removed.
fn without_one(steps: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for i in 0..steps.len() {
        let mut fewer = steps.to_vec();
        fewer.remove(i);
        out.push(fewer);
        if let Step::Try { body, catch } = &steps[i] {
            for inner in without_one(body) {
                let mut changed = steps.to_vec();
                changed[i] = Step::Try {
                    body: inner,
                    catch: *catch,
                };
                out.push(changed);
            }
        }
    }
    out
}
