//! Medians, ratios and the Markdown table.

use crate::measure::{Engine, Sample};
use std::time::Duration;

/// One program's results on every engine.
pub struct Row {
    name: String,
    /// Per engine: median wall time and peak RSS, or why it failed.
    cells: Vec<Result<(Duration, u64), String>>,
    /// The program's fiber-free floor on the first engine, if it has one.
    floor: Option<Result<(Duration, u64), String>>,
    /// Its asyncify version on the second engine, if it has one.
    asyncify: Option<Result<(Duration, u64), String>>,
}

impl Row {
    pub fn new(
        name: String,
        engines: &[Engine],
        samples: Vec<Vec<Sample>>,
        floor: Option<Vec<Sample>>,
        asyncify: Option<Vec<Sample>>,
    ) -> Row {
        let cells = engines
            .iter()
            .zip(samples)
            .map(|(_, runs)| summarize(runs))
            .collect();
        Row {
            name,
            cells,
            floor: floor.map(summarize),
            asyncify: asyncify.map(summarize),
        }
    }
}

fn summarize(runs: Vec<Sample>) -> Result<(Duration, u64), String> {
    let mut times = Vec::new();
    let mut rss = 0;
    for run in runs {
        match run {
            Sample::Ok { wall, max_rss_kib } => {
                times.push(wall);
                rss = rss.max(max_rss_kib);
            }
            Sample::Failed(reason) => return Err(reason),
        }
    }
    times.sort();
    Ok((times[times.len() / 2], rss))
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The report: a table with a column pair per engine, then the ratio of
/// each pair `(a, b)` of engine indices in `ratios` (a's time over b's).
pub fn markdown(
    engines: &[Engine],
    rows: &[Row],
    runs: usize,
    ratios: &[(usize, usize)],
) -> String {
    let mut out = String::new();
    let names: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
    out.push_str(&format!(
        "Median wall time of {runs} runs per engine (engines alternating), peak RSS.\n\n"
    ));
    let mut header = vec!["program".to_string()];
    for name in &names {
        header.push(format!("{name} time"));
        header.push(format!("{name} peak RSS"));
    }
    for &(a, b) in ratios {
        header.push(format!("{} / {}", names[a], names[b]));
    }
    let floors = rows.iter().any(|r| r.floor.is_some());
    if floors {
        header.push("floor (no fibers)".to_string());
        header.push(format!("{} / floor", names[0]));
    }
    let asyncify = rows.iter().any(|r| r.asyncify.is_some());
    if asyncify {
        header.push(format!("asyncify on {}", names[1]));
        header.push(format!("{} / asyncify", names[0]));
    }
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
    for row in rows {
        let mut cells = vec![row.name.clone()];
        for cell in &row.cells {
            match cell {
                Ok((time, rss)) => {
                    cells.push(seconds(*time));
                    cells.push(format!("{:.1} MiB", *rss as f64 / 1024.0));
                }
                Err(reason) => {
                    cells.push(format!("failed ({reason})"));
                    cells.push("-".to_string());
                }
            }
        }
        for &(a, b) in ratios {
            match (&row.cells[a], &row.cells[b]) {
                (Ok((a, _)), Ok((b, _))) => {
                    cells.push(format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()));
                }
                _ => cells.push("-".to_string()),
            }
        }
        if floors {
            companion_cells(&mut cells, &row.floor, row.cells.first(), 1);
        }
        if asyncify {
            companion_cells(&mut cells, &row.asyncify, row.cells.first(), 2);
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// A companion's time and the first engine's time over it (`digits`
/// decimals), or why it failed.
fn companion_cells(
    cells: &mut Vec<String>,
    companion: &Option<Result<(Duration, u64), String>>,
    first: Option<&Result<(Duration, u64), String>>,
    digits: usize,
) {
    match (companion, first) {
        (Some(Ok((base, _))), Some(Ok((time, _)))) => {
            cells.push(seconds(*base));
            let ratio = time.as_secs_f64() / base.as_secs_f64();
            cells.push(format!("{ratio:.digits$}"));
        }
        (Some(Ok((base, _))), _) => cells.extend([seconds(*base), "-".to_string()]),
        (Some(Err(reason)), _) => cells.extend([format!("failed ({reason})"), "-".to_string()]),
        (None, _) => cells.extend(["-".to_string(), "-".to_string()]),
    }
}
