//! A clap error as the short block a usage error prints.

use super::args::Cli;
use clap::CommandFactory;

/// Clap's error as a short block: what is wrong, then its context lines
/// (the allowed values, the missing argument, "a similar value exists"),
/// then the usage line, indented; blank lines and the pointer to `--help`
/// dropped.
pub(crate) fn usage_block(e: &clap::Error) -> String {
    let mut command = Cli::command();
    command.build();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect();
    // The subcommand typed: the first argument naming one, skipping the
    // value of the global --cases.
    let mut words = std::env::args().skip(1);
    let mut typed = None;
    while let Some(word) = words.next() {
        if word == "--cases" {
            words.next();
        } else if names.contains(&word) {
            typed = Some(word);
            break;
        }
    }
    let usage = match typed.and_then(|name| command.find_subcommand_mut(name)) {
        Some(sub) => sub.render_usage().to_string(),
        None => command.render_usage().to_string(),
    };
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!(
            "a command is needed: one of {}\n  {}",
            names.join(", "),
            usage.trim()
        );
    }
    let text = e.render().to_string();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"));
    let first = lines.next().unwrap_or("invalid arguments");
    let mut block = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let mut has_usage = false;
    for line in lines {
        has_usage |= line.starts_with("Usage:");
        block.push_str("\n  ");
        block.push_str(line);
    }
    if !has_usage {
        block.push_str("\n  ");
        block.push_str(usage.trim());
    }
    block
}
