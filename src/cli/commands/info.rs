//! `wirelab explain` and `wirelab ports`: the glossary and the course's port list.

use crate::cli::failure::{Outcome, input};
use std::process::ExitCode;
use wirelab::render;

pub fn explain(term: Option<&str>) -> Outcome {
    use wirelab::glossary;
    match term {
        Some(t) => match glossary::lookup(t) {
            Some(entry) => {
                println!("{}: {}\n", entry.name, entry.short);
                println!("{}", render::table::wrap(entry.long, 80, 0).join("\n"));
                Ok(ExitCode::SUCCESS)
            }
            None => input(format!(
                "no explanation of '{t}'; the terms are: {}",
                glossary::TERMS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        None => {
            for entry in glossary::TERMS {
                println!("{:<24} {}", entry.name, entry.short);
            }
            println!("\nwirelab explain TERM says more about one of them.");
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
    println!("{t}");
    println!(
        "A server listens on its service's well-known port; the client's port is an ephemeral one \n\
the operating system picks (32768-60999 on Linux). wirelab explain port says more."
    );
    Ok(ExitCode::SUCCESS)
}
