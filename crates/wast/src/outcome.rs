//! Results of running a script: pass/fail totals and the list of failures.

use std::fmt;

/// One directive that did not behave as the script expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Name of the script (usually its path).
    pub file: String,
    /// 1-based line of the directive (0 when the failure has no location).
    pub line: usize,
    /// 1-based column of the directive (0 when the failure has no location).
    pub col: usize,
    /// Why the directive failed.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Totals of one or more script runs.
///
/// Every directive of a script counts as one assertion: it either passed or
/// failed. A script that cannot be read or parsed counts as one failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Number of directives that behaved as expected.
    pub passed: usize,
    /// Number of directives that did not (always `failures.len()`).
    pub failed: usize,
    /// Details of every failed directive, in script order.
    pub failures: Vec<Failure>,
}

impl Outcome {
    /// Number of directives run (`passed + failed`).
    pub fn total(&self) -> usize {
        self.passed + self.failed
    }

    /// Whether no directive failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }

    /// Adds the totals and failures of `other` to `self`.
    pub fn merge(&mut self, other: Outcome) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.failures.extend(other.failures);
    }

    /// Records one passed directive.
    pub(crate) fn pass(&mut self) {
        self.passed += 1;
    }

    /// Records one failed directive at the given 1-based position.
    pub(crate) fn fail(&mut self, file: &str, line: usize, col: usize, message: String) {
        self.failed += 1;
        self.failures.push(Failure {
            file: file.to_string(),
            line,
            col,
            message,
        });
    }
}

impl fmt::Display for Outcome {
    /// Writes the totals and then one line per failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed ({} total)",
            self.passed,
            self.failed,
            self.total()
        )?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}
