//! The script runner: executes the directives of a `.wast` script one by one
//! against a fresh fxtime store and linker.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use fxtime::{
    Config, Engine, Extern, Instance, Linker, Module, Store, ThrownException, Val, WasmError,
};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::Id;
use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::outcome::Outcome;
use crate::spectest::Printed;
use crate::{messages, spectest, values};

/// What fxtime's errors say when a module uses a feature fxtime does not
/// implement (`fxtime_environ::WasmError::Unsupported`).
const UNSUPPORTED: &str = "unsupported feature";

/// Result of running something in the engine: `Ok` with the values it
/// returned, or the engine's error (a trap, a link error, ...).
type EngineResult = Result<Vec<Val>>;

/// Runs `.wast` specification scripts against one fxtime [`Engine`].
///
/// Each call to [`run_file`](Self::run_file) or [`run_str`](Self::run_str)
/// starts from a fresh [`Store`] and [`Linker`] holding only the `spectest`
/// host module, so scripts do not see each other's instances.
pub struct WastRunner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// The most recently instantiated module: target of `invoke`/`get`
    /// without a module name. `None` after a module directive failed.
    current: Option<Instance>,
    /// Instances bound to a script identifier (`(module $M ...)`).
    instances: HashMap<String, Instance>,
    /// Compiled modules bound to a script identifier, for `module instance`.
    definitions: HashMap<String, Module>,
    /// The most recently defined module, for `module instance` without a name.
    last_definition: Option<Module>,
    /// What the scripts printed through `spectest`, one entry per call.
    printed: Printed,
    /// Whether each module goes through `Module::serialize` and
    /// `Module::deserialize` before it is used.
    precompiled: bool,
    /// Whether stores reach an epoch deadline at every epoch (and run out
    /// of handed-out fuel every so often), each time going on.
    interrupted: bool,
}

impl WastRunner {
    /// Creates a runner whose engine uses `config`.
    ///
    /// Fails if the engine cannot be created or the `spectest` host module
    /// cannot be set up.
    pub fn new(config: &Config) -> Result<Self> {
        let engine = Engine::new(config)?;
        let printed = Printed::default();
        let (store, linker) = fresh_store(&engine, &printed)?;
        Ok(WastRunner {
            engine,
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            printed,
            precompiled: false,
            interrupted: false,
        })
    }

    /// Makes every store reach its epoch deadline at every epoch, with a
    /// callback that lets wasm go on (with `Config::epoch_interruption`),
    /// and hand its fuel to wasm 1,000 units at a time (with
    /// `Config::consume_fuel`). With a thread advancing the engine's epoch,
    /// wasm is then interrupted at its checks and continued all the time,
    /// which must change no result.
    pub fn interrupted(&mut self, enable: bool) -> &mut Self {
        self.interrupted = enable;
        if enable {
            interrupt_often(&mut self.store);
        }
        self
    }

    /// Makes every module the scripts define go through its precompiled
    /// form (`Module::serialize`, then `Module::deserialize`) before it is
    /// instantiated, so that the scripts test loaded code as they test
    /// freshly compiled code.
    pub fn precompiled(&mut self, enable: bool) -> &mut Self {
        self.precompiled = enable;
        self
    }

    /// Takes the lines printed through `spectest`'s print functions so far
    /// (as the reference interpreter shows them, e.g. `5 : i32`).
    pub fn take_printed(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.printed.lock().unwrap())
    }

    /// The engine the scripts run on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Reads and runs the script at `path`, naming failures after the path.
    ///
    /// A file that cannot be read counts as one failure.
    pub fn run_file(&mut self, path: impl AsRef<Path>) -> Outcome {
        let path = path.as_ref();
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => self.run_str(&name, &text),
            Err(err) => {
                let mut outcome = Outcome::default();
                outcome.fail(&name, 0, 0, format!("cannot read script: {err}"));
                outcome
            }
        }
    }

    /// Runs the script `text`; `name` is used in failures (usually a path).
    ///
    /// Every directive counts as one assertion. A script that does not parse
    /// counts as one failure. Never panics: a panic inside the engine while
    /// running a directive is caught and counted as that directive's failure.
    pub fn run_str(&mut self, name: &str, text: &str) -> Outcome {
        let mut outcome = Outcome::default();
        if let Err(err) = self.reset() {
            outcome.fail(name, 0, 0, format!("cannot set up a fresh store: {err:#}"));
            return outcome;
        }
        let mut lexer = Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buf = match ParseBuffer::new_with_lexer(lexer) {
            Ok(buf) => buf,
            Err(err) => {
                fail_parse(&mut outcome, name, text, &err);
                return outcome;
            }
        };
        let wast = match parser::parse::<Wast<'_>>(&buf) {
            Ok(wast) => wast,
            Err(err) => {
                fail_parse(&mut outcome, name, text, &err);
                return outcome;
            }
        };
        for directive in wast.directives {
            let (line, col) = directive.span().linecol_in(text);
            let result = catch_unwind(AssertUnwindSafe(|| self.directive(directive)));
            let message = match result {
                Ok(Ok(())) => {
                    outcome.pass();
                    continue;
                }
                Ok(Err(err)) => format!("{err:#}"),
                Err(panic) => format!("panic while running directive: {}", panic_message(&*panic)),
            };
            outcome.fail(name, line + 1, col + 1, message);
        }
        outcome
    }

    /// Replaces the store, linker and all bindings with fresh ones.
    fn reset(&mut self) -> Result<()> {
        let (mut store, linker) = fresh_store(&self.engine, &self.printed)?;
        if self.interrupted {
            interrupt_often(&mut store);
        }
        self.store = store;
        self.linker = linker;
        self.current = None;
        self.instances.clear();
        self.definitions.clear();
        self.last_definition = None;
        Ok(())
    }

    /// Runs one directive; `Err` explains why it failed.
    fn directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut module) => self.module(&mut module),
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name();
                let module = self.compile(&mut module)?;
                self.define(name, module);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => self.module_instance(instance, module),
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&mut self.store, name, instance)
                    .with_context(|| format!("cannot register instance as {name:?}"))?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.context("invoke failed")?;
                Ok(())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)?
                    .context("expected a return, got an error")?;
                if actual.len() != results.len() {
                    bail!(
                        "expected {} results, got {}: [{}]",
                        results.len(),
                        actual.len(),
                        self.describe_all(&actual)
                    );
                }
                for (i, (actual, expected)) in actual.iter().zip(&results).enumerate() {
                    values::match_result(&self.store, actual, expected)
                        .with_context(|| format!("result {i} mismatch"))?;
                }
                Ok(())
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let result = self.execute(exec)?;
                self.expect_error(result, message, "trap")
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let result = self.invoke(&call)?;
                self.expect_error(result, message, "exhaustion")
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                Ok(vals) => bail!(
                    "expected an uncaught exception, got a return: [{}]",
                    self.describe_all(&vals)
                ),
                Err(err) if err.downcast_ref::<ThrownException>().is_some() => Ok(()),
                Err(err) => bail!("expected an uncaught exception, got: {err:#}"),
            },
            WastDirective::AssertSuspension { exec, message, .. } => {
                match self.execute(exec)? {
                    Ok(vals) => bail!(
                        "expected an unhandled suspension ({message:?}), got a return: [{}]",
                        self.describe_all(&vals)
                    ),
                    Err(err) => {
                        let actual = format!("{err:#}");
                        // Any "unhandled ..." message is an unhandled suspension.
                        if messages::matches(&actual, message) || actual.contains("unhandled") {
                            Ok(())
                        } else {
                            bail!("expected suspension error {message:?}, got {actual:?}")
                        }
                    }
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let module = self.compile_wat(&mut module)?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => bail!("expected link error {message:?}, but instantiation succeeded"),
                    Err(err) => {
                        let actual = format!("{err:#}");
                        if messages::matches(&actual, message) {
                            Ok(())
                        } else {
                            bail!("expected link error {message:?}, got {actual:?}")
                        }
                    }
                }
            }
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, message, "malformed"),
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, message, "invalid"),
            WastDirective::AssertMalformedCustom { .. } => {
                bail!("unsupported directive: assert_malformed_custom")
            }
            WastDirective::AssertInvalidCustom { .. } => {
                bail!("unsupported directive: assert_invalid_custom")
            }
            WastDirective::Thread(_) => bail!("unsupported directive: thread"),
            WastDirective::Wait { .. } => bail!("unsupported directive: wait"),
        }
    }

    /// `(module ...)`: compile, instantiate and make it the current instance.
    fn module(&mut self, module: &mut QuoteWat<'_>) -> Result<()> {
        let name = module.name();
        // Forget stale bindings first, so that directives following a failed
        // module fail instead of running against an older instance.
        self.current = None;
        if let Some(id) = name {
            self.instances.remove(id.name());
        }
        let compiled = self.compile(module)?;
        self.define(name, compiled.clone());
        let instance = self
            .linker
            .instantiate(&mut self.store, &compiled)
            .context("instantiation failed")?;
        self.bind(name, instance);
        Ok(())
    }

    /// `(module instance $I $M)`: instantiate a module definition.
    fn module_instance(&mut self, instance: Option<Id<'_>>, module: Option<Id<'_>>) -> Result<()> {
        self.current = None;
        if let Some(id) = instance {
            self.instances.remove(id.name());
        }
        let compiled = match module {
            Some(id) => self
                .definitions
                .get(id.name())
                .ok_or_else(|| anyhow!("unknown module definition ${}", id.name()))?,
            None => self
                .last_definition
                .as_ref()
                .ok_or_else(|| anyhow!("no module definition to instantiate"))?,
        }
        .clone();
        let new = self
            .linker
            .instantiate(&mut self.store, &compiled)
            .context("instantiation failed")?;
        self.bind(instance, new);
        Ok(())
    }

    /// Records a compiled module under its optional script name.
    fn define(&mut self, name: Option<Id<'_>>, module: Module) {
        if let Some(id) = name {
            self.definitions
                .insert(id.name().to_string(), module.clone());
        }
        self.last_definition = Some(module);
    }

    /// Makes `instance` the current one, bound to its optional script name.
    fn bind(&mut self, name: Option<Id<'_>>, instance: Instance) {
        if let Some(id) = name {
            self.instances.insert(id.name().to_string(), instance);
        }
        self.current = Some(instance);
    }

    /// The instance named `name`, or the current one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<Instance> {
        match name {
            Some(id) => self.instances.get(id.name()).cloned().ok_or_else(|| {
                anyhow!(
                    "unknown module ${} (or its instantiation failed)",
                    id.name()
                )
            }),
            None => self
                .current
                .ok_or_else(|| anyhow!("no current module instance (the last module failed)")),
        }
    }

    /// Encodes and compiles a module directive's module.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        let bytes = encode(module).context("cannot encode module")?;
        self.load(&bytes)
    }

    /// Compiles a module (and, with [`WastRunner::precompiled`], loads it
    /// again from its precompiled form).
    fn load(&self, bytes: &[u8]) -> Result<Module> {
        let module = Module::new(&self.engine, bytes).context("module failed to compile")?;
        if !self.precompiled {
            return Ok(module);
        }
        let precompiled = module.serialize().context("serializing the module")?;
        // SAFETY: the bytes were just written by this engine.
        unsafe { Module::deserialize(&self.engine, &precompiled) }
            .context("deserializing the module")
    }

    /// Encodes and compiles an inline text module.
    fn compile_wat(&self, module: &mut Wat<'_>) -> Result<Module> {
        if let Wat::Component(_) = module {
            bail!("components are not supported");
        }
        let bytes = module.encode().context("cannot encode module")?;
        self.load(&bytes)
    }

    /// `assert_malformed` / `assert_invalid`: the module must be rejected,
    /// either by the text parser/encoder or by [`Module::new`].
    ///
    /// The engine's message is not compared with the script's (engines word
    /// validation errors differently), with one exception: a rejection
    /// because the engine does not implement a feature
    /// ([`UNSUPPORTED`]) does not show that the module was found
    /// invalid, so it counts as a failure, unless a validation error
    /// ([`WasmError::Invalid`]) is among its causes.
    fn expect_rejected(&self, module: &mut QuoteWat<'_>, message: &str, what: &str) -> Result<()> {
        if matches!(
            module,
            QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
        ) {
            bail!("components are not supported");
        }
        let Ok(bytes) = encode(module) else {
            // Text that does not parse or encode is rejected, as expected.
            return Ok(());
        };
        match Module::new(&self.engine, &bytes) {
            Ok(_) => bail!("expected {what} module ({message:?}), but it compiled"),
            Err(err) => {
                let actual = format!("{err:#}");
                let validated = err.chain().any(|e| {
                    matches!(
                        e.downcast_ref::<WasmError>(),
                        Some(WasmError::Invalid { .. })
                    )
                });
                if actual.contains(UNSUPPORTED) && !validated {
                    bail!(
                        "expected {what} module ({message:?}), but it was rejected as unsupported: {actual}"
                    )
                }
                Ok(())
            }
        }
    }

    /// Checks that `result` is an error whose message matches `expected`.
    fn expect_error(&self, result: EngineResult, expected: &str, what: &str) -> Result<()> {
        match result {
            Ok(vals) => bail!(
                "expected {what} {expected:?}, got a return: [{}]",
                self.describe_all(&vals)
            ),
            Err(err) => {
                let actual = format!("{err:#}");
                if messages::matches(&actual, expected) {
                    Ok(())
                } else {
                    bail!("expected {what} {expected:?}, got {actual:?}")
                }
            }
        }
    }

    /// Runs an `invoke`, a `get` or an inline module (instantiated for its
    /// start function). The outer `Err` is a problem of the script or the
    /// runner (unknown export, bad arguments); the inner result is the
    /// engine's.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<EngineResult> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                match instance.get_export(&mut self.store, global) {
                    Some(Extern::Global(g)) => Ok(Ok(vec![g.get(&mut self.store)])),
                    Some(_) => bail!("export {global:?} is not a global"),
                    None => bail!("unknown export {global:?}"),
                }
            }
            WastExecute::Wat(mut module) => {
                let module = self.compile_wat(&mut module)?;
                Ok(self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .map(|_| Vec::new()))
            }
        }
    }

    /// Calls an exported function; see [`execute`](Self::execute) for the
    /// meaning of the two result layers.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<EngineResult> {
        let instance = self.instance(invoke.module)?;
        let name = invoke.name;
        let func = match instance.get_export(&mut self.store, name) {
            Some(Extern::Func(f)) => f,
            Some(_) => bail!("export {name:?} is not a function"),
            None => bail!("unknown export {name:?}"),
        };
        let ty = func.ty(&self.store);
        let params = ty.params().len();
        if params != invoke.args.len() {
            bail!(
                "function {name:?} takes {params} arguments, the script passes {}",
                invoke.args.len()
            );
        }
        let args = invoke
            .args
            .iter()
            .map(|arg| values::arg_to_val(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let mut out: Vec<Val> = ty.results().map(Val::default_for).collect();
        Ok(func.call(&mut self.store, &args, &mut out).map(|()| out))
    }

    /// Comma-separated descriptions of `vals`.
    fn describe_all(&self, vals: &[Val]) -> String {
        vals.iter()
            .map(|v| values::describe(&self.store, v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// See [`WastRunner::interrupted`].
fn interrupt_often(store: &mut Store<()>) {
    store.epoch_deadline_callback(|_| Ok(fxtime::UpdateDeadline::Continue(1)));
    store.set_epoch_deadline(1);
    // Without fuel configured, there is nothing to hand out.
    let _ = store.fuel_async_yield_interval(Some(1_000));
}

/// A store and a linker with the `spectest` module defined. With
/// `Config::consume_fuel`, the store has all the fuel there is: scripts
/// then run through the fuel checks without running out.
fn fresh_store(engine: &Engine, printed: &Printed) -> Result<(Store<()>, Linker<()>)> {
    let mut store = Store::new(engine, ());
    if store.get_fuel().is_ok() {
        store.set_fuel(u64::MAX)?;
    }
    let mut linker = Linker::new(engine);
    // Like the reference interpreter, a later `register` of a name replaces
    // the earlier one.
    linker.allow_shadowing(true);
    spectest::register(&mut store, &mut linker, printed.clone())
        .context("cannot define the spectest module")?;
    Ok((store, linker))
}

/// Encodes a module of any form to binary.
///
/// Unlike [`QuoteWat::encode`], quoted text is lexed with confusing Unicode
/// allowed (it is legal in the text format, e.g. in `names.wast`).
fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>> {
    if let QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) = module {
        bail!("components are not supported");
    }
    match module.to_test()? {
        QuoteWatTest::Binary(bytes) => Ok(bytes),
        QuoteWatTest::Text(text) => {
            let text = String::from_utf8(text).map_err(|_| anyhow!("malformed UTF-8 encoding"))?;
            let mut lexer = Lexer::new(&text);
            lexer.allow_confusing_unicode(true);
            let buf = ParseBuffer::new_with_lexer(lexer)?;
            let mut wat = parser::parse::<Wat<'_>>(&buf)?;
            if let Wat::Component(_) = wat {
                bail!("components are not supported");
            }
            Ok(wat.encode()?)
        }
    }
}

/// Records a whole-script parse error as one failure.
fn fail_parse(outcome: &mut Outcome, name: &str, text: &str, err: &wast::Error) {
    let (line, col) = err.span().linecol_in(text);
    outcome.fail(
        name,
        line + 1,
        col + 1,
        format!("script does not parse: {}", err.message()),
    );
}

/// The message of a caught panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
