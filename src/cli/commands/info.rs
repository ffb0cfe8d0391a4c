//! `wirelab explain` and `wirelab ports`: the glossary and the course's port list.

use crate::cli::failure::{Failure, Outcome, input};
use std::process::ExitCode;
use wirelab::render;

/// The columns of the terminal the glossary is written for.
const WIDTH: usize = 80;

pub fn explain(term: Option<&str>) -> Outcome {
    use wirelab::report::DICTIONARY;
    match term {
        Some(t) => match DICTIONARY.lookup(t) {
            Some(entry) => {
                let first = format!("{}: {}", entry.name, entry.short);
                Failure::print(&format!(
                    "{}\n\n{}\n",
                    render::table::wrap(&first, WIDTH, 2).join("\n"),
                    render::table::wrap(entry.long, WIDTH, 0).join("\n")
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            None => input(format!(
                "no explanation of '{t}'; the terms are: {}",
                DICTIONARY
                    .terms()
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        None => {
            // The explanations in a column after the names, wrapped under it.
            let mut text = String::new();
            for entry in DICTIONARY.terms() {
                let line = format!("{:<24} {}", entry.name, entry.short);
                text += &render::table::wrap(&line, WIDTH, 25).join("\n");
                text.push('\n');
            }
            text += "\nwirelab explain TERM says more about one of them.\n";
            Failure::print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn ports() -> Outcome {
    use comfy_table::{Table, presets::ASCII_BORDERS_ONLY_CONDENSED};
    let mut t = Table::new();
    t.load_style(ASCII_BORDERS_ONLY_CONDENSED)
        .force_no_tty()
        .set_header(vec!["port", "service", "what it is for"]);
    for (port, name, what) in wirelab::ports::WELL_KNOWN {
        t.add_row(vec![port.to_string(), name.to_string(), what.to_string()]);
    }
    let after = "A server listens on its service's well-known port; the client's port is an \
ephemeral one the operating system picks (32768-60999 on Linux). wirelab explain port \
says more.";
    Failure::print(&format!(
        "{t}\n{}\n",
        render::table::wrap(after, WIDTH, 0).join("\n")
    ))?;
    Ok(ExitCode::SUCCESS)
}
