//! A program as WebAssembly text.

use crate::program::{
    EXCEPTION_TAGS, MAX_DEPTH, Park, Program, Spawn, Step, Switch, TrapKind, YIELD_TAGS,
};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Which engine a module is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// fxtime through the API: `log` is the host's, and garbage is made
    /// (`churn` allocates; continuations are parked in structs too).
    Fxtime,
    /// Any engine's command line, Wasmtime's included: no imports and no
    /// GC objects (Wasmtime 49 refuses continuation references in
    /// structs, and collections with suspended continuations); `Keep`
    /// keeps its value in a local; `log`
    /// folds each value into a hash, and `main` returns
    /// [`portable_result`] of its value and that hash.
    Portable,
}

/// What `main` of a [`Target::Portable`] module returns for a run that
/// returned `value` after logging `log`.
pub fn portable_result(value: i32, log: &[i32]) -> i32 {
    let hash = log
        .iter()
        .fold(0i32, |hash, x| hash.wrapping_mul(31).wrapping_add(*x));
    value.wrapping_mul(PORTABLE_MIX as i32) ^ hash
}

const PORTABLE_MIX: u32 = 0x9e37_79b1;

/// The module text of `program` for `target`: exports `main` (`(param
/// i32) (result i32)`) and `clear` (drops every parked continuation, so
/// that after it nothing of a finished run is reachable).
pub fn module(program: &Program, target: Target) -> String {
    let mut out = String::from(
        "(module\n\
         (type $bf (func (param i32) (result i32)))\n\
         (type $ct (cont $bf))\n\
         (type $f0 (func (result i32)))\n\
         (type $ct0 (cont $f0))\n\
         (rec (type $pf (func (param i32 (ref null $pc)) (result i32))) (type $pc (cont $pf)))\n",
    );
    match target {
        Target::Fxtime => out.push_str(
            "(type $cbox (struct (field (mut (ref null $ct)))))\n\
             (type $junk (array (mut i64)))\n\
             (type $ibox (struct (field i32)))\n\
             (import \"env\" \"log\" (func $log (param i32)))\n",
        ),
        Target::Portable => out.push_str(
            "(global $hash (mut i32) (i32.const 0))\n\
             (func $log (param i32)\n  \
               (global.set $hash (i32.add (i32.mul (global.get $hash) (i32.const 31)) (local.get 0))))\n",
        ),
    }
    for t in 0..YIELD_TAGS {
        writeln!(out, "(tag $y{t} (param i32) (result i32))").unwrap();
    }
    for t in 0..EXCEPTION_TAGS {
        writeln!(out, "(tag $e{t} (param i32))").unwrap();
    }
    out.push_str(
        "(tag $sw (result i32))\n\
         (memory 1)\n\
         (table $park 8 (ref null $ct))\n\
         (global $parked (mut (ref null $ct)) (ref.null $ct))\n\
         (func $zero (type $f0) (i32.const 0))\n\
         (func (export \"clear\")\n  \
           (global.set $parked (ref.null $ct))\n  \
           (table.fill $park (i32.const 0) (ref.null $ct) (i32.const 8)))\n",
    );
    match target {
        Target::Fxtime => out.push_str(
            "(func $churn (local $i i32)\n  \
               (loop $l (drop (array.new $junk (i64.const 1) (i32.const 8)))\n    \
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64)))))\n\
             (func (export \"main\") (param i32) (result i32) (call $b0 (local.get 0)))\n",
        ),
        Target::Portable => writeln!(
            out,
            "(func $churn)\n\
             (func (export \"main\") (param i32) (result i32)\n  \
               (i32.xor (i32.mul (call $b0 (local.get 0)) (i32.const {PORTABLE_MIX:#x})) (global.get $hash)))"
        )
        .unwrap(),
    }
    let peers = peers(program);
    let names: Vec<String> = (1..program.bodies.len())
        .map(|i| format!("$b{i}"))
        .chain(peers.iter().map(|&(i, back)| peer_name(i, back)))
        .collect();
    writeln!(out, "(elem declare func $zero {})", names.join(" ")).unwrap();
    let mut labels = 0;
    for (index, steps) in program.bodies.iter().enumerate() {
        let header = format!("$b{index} (param $acc i32)");
        function(&mut out, &mut labels, &header, index, steps, target);
        out.push_str("  (local.get $acc))\n");
    }
    for &(index, back) in &peers {
        let header = format!(
            "{} (type $pf) (param $acc i32) (param $back (ref null $pc))",
            peer_name(index, back)
        );
        let steps = &program.bodies[index];
        function(&mut out, &mut labels, &header, index, steps, target);
        out.push_str(if back {
            "  (switch $pc $sw (local.get $acc) (local.get $back)) (drop) (drop) (unreachable))\n"
        } else {
            "  (local.get $acc))\n"
        });
    }
    out.push_str(")\n");
    out
}

/// The peers `program` switches to: their body, and whether they switch
/// back.
fn peers(program: &Program) -> BTreeSet<(usize, bool)> {
    fn visit(steps: &[Step], peers: &mut BTreeSet<(usize, bool)>) {
        for step in steps {
            match step {
                Step::Switch(Switch { peer, back, .. }) => {
                    peers.insert((*peer, *back));
                }
                Step::Try { body, .. } | Step::Keep(body) => visit(body, peers),
                _ => {}
            }
        }
    }
    let mut peers = BTreeSet::new();
    for steps in &program.bodies {
        visit(steps, &mut peers);
    }
    peers
}

fn peer_name(index: usize, back: bool) -> String {
    format!("$p{index}{}", if back { "_back" } else { "_return" })
}

/// Writes a function headed `header` (name and parameters) running
/// `steps` of body `index`, up to its final value.
fn function(
    out: &mut String,
    labels: &mut usize,
    header: &str,
    index: usize,
    steps: &[Step],
    target: Target,
) {
    let kept = match target {
        Target::Fxtime => "(ref null $ibox)",
        Target::Portable => "i32",
    };
    writeln!(
        out,
        "(func {header} (result i32)\n  \
         (local $k (ref null $ct0)) (local $c (ref null $ct))\n  \
         (local $n i32) (local $t i32) (local $p i32) (local $reply i32) (local $throwing i32) (local $x i32)"
    )
    .unwrap();
    for depth in 0..MAX_DEPTH {
        writeln!(out, "  (local $kept{depth} {kept})").unwrap();
    }
    if target == Target::Fxtime {
        out.push_str("  (local $box (ref null $cbox))\n");
    }
    let mut body = Body {
        out,
        labels,
        index,
        target,
        depth: 0,
    };
    body.steps(steps);
}

struct Body<'a> {
    out: &'a mut String,
    labels: &'a mut usize,
    /// The body's index: its table slot for parking.
    index: usize,
    target: Target,
    /// How many `Keep`s are around the current step.
    depth: u32,
}

impl Body<'_> {
    fn line(&mut self, text: &str) {
        self.out.push_str("  ");
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A fresh label prefix.
    fn label(&mut self) -> String {
        *self.labels += 1;
        format!("$L{}", self.labels)
    }

    fn steps(&mut self, steps: &[Step]) {
        for step in steps {
            self.step(step);
        }
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Add(v) => {
                self.line(&format!("(local.set $acc (i32.add (local.get $acc) (i32.const {v})))"))
            }
            Step::Log(v) => self.line(&format!("(call $log (i32.xor (local.get $acc) (i32.const {v})))")),
            Step::Yield(t) => self.line(&format!(
                "(local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (suspend $y{t} (local.get $acc))))"
            )),
            Step::Throw(t) => self.line(&format!("(throw $e{t} (local.get $acc))")),
            Step::Churn => self.line("(call $churn)"),
            Step::Trap(kind) => self.line(match kind {
                TrapKind::Unreachable => "(unreachable)",
                TrapKind::DivideByZero => "(local.set $acc (i32.div_u (local.get $acc) (i32.and (local.get $acc) (i32.const 0))))",
                TrapKind::OutOfBounds => "(local.set $acc (i32.load (i32.or (local.get $acc) (i32.const 0x10000000))))",
                TrapKind::NullContinuation => "(local.set $acc (resume $ct0 (ref.null $ct0)))",
                TrapKind::Consumed => "(local.set $k (cont.new $ct0 (ref.func $zero))) (drop (resume $ct0 (local.get $k))) (drop (resume $ct0 (local.get $k)))",
            }),
            Step::Keep(body) => self.keep(body),
            Step::Switch(Switch { peer, bind, back }) => {
                self.line(&format!(
                    "(switch $pc $sw (i32.xor (local.get $acc) (i32.const {bind})) (cont.new $pc (ref.func {})))",
                    peer_name(*peer, *back)
                ));
                self.line("(drop) (local.set $x) (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 13)) (local.get $x)))");
            }
            Step::Try { body, catch } => {
                let l = self.label();
                self.line(&format!("(block {l}done (block {l}caught (result i32) (try_table (catch $e{catch} {l}caught)"));
                self.steps(body);
                self.line(&format!(") (br {l}done))"));
                self.line("(local.set $x) (local.set $acc (i32.xor (i32.xor (local.get $acc) (local.get $x)) (i32.const 0x5a5a))))");
            }
            Step::Spawn(spawn) => self.spawn(spawn),
        }
    }

    /// Keeps `$acc` (in a struct, for fxtime) while `body` runs.
    fn keep(&mut self, body: &[Step]) {
        let kept = format!("$kept{}", self.depth);
        let (store, load) = match self.target {
            Target::Fxtime => (
                "(struct.new $ibox (local.get $acc))".to_string(),
                format!("(struct.get $ibox 0 (local.get {kept}))"),
            ),
            Target::Portable => ("(local.get $acc)".into(), format!("(local.get {kept})")),
        };
        self.line(&format!("(local.set {kept} {store})"));
        self.depth += 1;
        self.steps(body);
        self.depth -= 1;
        self.line(&format!(
            "(local.set $acc (i32.xor (local.get $acc) (i32.mul {load} (i32.const 5))))"
        ));
    }

    /// The driver loop of a `Spawn` (see `crate::model` for its meaning).
    fn spawn(&mut self, spawn: &Spawn) {
        let Spawn {
            child,
            bind,
            ref handles,
            abandon_after,
            throw_at,
            park,
            switches,
        } = *spawn;
        let l = self.label();
        self.line("(local.set $n (i32.const 0)) (local.set $throwing (i32.const 0))");
        self.line(&format!(
            "(local.set $k (cont.bind $ct $ct0 (i32.xor (local.get $acc) (i32.const {bind})) (cont.new $ct (ref.func $b{child}))))"
        ));
        self.line(&format!(
            "(block {l}done (loop {l}drive (block {l}suspended (block {l}returned (result i32)"
        ));
        for t in handles.iter().rev() {
            self.line(&format!("(block {l}h{t} (result i32 (ref $ct))"));
        }
        let mut clauses: String = handles
            .iter()
            .map(|t| format!("(on $y{t} {l}h{t}) "))
            .collect();
        if switches {
            clauses.push_str("(on $sw switch) ");
        }
        self.line(&format!(
            "(if (result i32) (local.get $throwing) \
             (then (resume_throw $ct $e0 {clauses}(local.get $reply) (local.get $c))) \
             (else (resume $ct0 {clauses}(local.get $k))))"
        ));
        self.line(&format!("(br {l}returned)"));
        for t in handles {
            self.line(&format!(
                ") (local.set $c) (local.set $p) (local.set $t (i32.const {t})) (br {l}suspended)"
            ));
        }
        // Returned.
        self.line(&format!(
            ") (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 7)))) (br {l}done))"
        ));
        // A suspension on $t with payload $p and continuation $c.
        self.line("(local.set $n (i32.add (local.get $n) (i32.const 1)))");
        self.line("(call $log (i32.xor (local.get $p) (i32.shl (i32.add (local.get $t) (i32.const 1)) (i32.const 12))))");
        if let Some(a) = abandon_after {
            self.line(&format!(
                "(if (i32.eq (local.get $n) (i32.const {a})) (then (local.set $acc (i32.add (local.get $acc) (i32.const 1000))) (br {l}done)))"
            ));
        }
        self.park(park);
        self.line(
            "(local.set $reply (i32.add (i32.mul (local.get $p) (i32.const 3)) (local.get $t)))",
        );
        match throw_at {
            Some(w) => self.line(&format!(
                "(local.set $throwing (i32.eq (local.get $n) (i32.const {w})))"
            )),
            None => self.line("(local.set $throwing (i32.const 0))"),
        }
        self.line("(if (i32.eqz (local.get $throwing)) (then (local.set $k (cont.bind $ct $ct0 (local.get $reply) (local.get $c)))))");
        self.line(&format!("(br {l}drive)))"));
    }

    /// Keeps `$c` only in `park` while garbage is made, then takes it back.
    fn park(&mut self, park: Park) {
        let slot = self.index;
        let park = match (park, self.target) {
            (Park::Struct, Target::Portable) => Park::Local,
            _ => park,
        };
        let (store, load) = match park {
            Park::Local => (String::new(), String::new()),
            Park::Table => (
                format!("(table.set $park (i32.const {slot}) (local.get $c))"),
                format!(
                    "(local.set $c (table.get $park (i32.const {slot}))) (table.set $park (i32.const {slot}) (ref.null $ct))"
                ),
            ),
            Park::Global => (
                "(global.set $parked (local.get $c))".into(),
                "(local.set $c (global.get $parked)) (global.set $parked (ref.null $ct))".into(),
            ),
            Park::Struct => (
                "(local.set $box (struct.new $cbox (local.get $c)))".into(),
                "(local.set $c (struct.get $cbox 0 (local.get $box))) (local.set $box (ref.null $cbox))".into(),
            ),
        };
        if park == Park::Local {
            self.line("(call $churn)");
            return;
        }
        self.line(&store);
        self.line("(local.set $c (ref.null $ct)) (call $churn)");
        self.line(&load);
    }
}
