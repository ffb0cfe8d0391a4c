//! What a protocol above TCP tells the reader about a connection, in neutral terms each
//! renderer lays out its own way: the text report, the HTML page (a titled section),
//! the story (a few labelled sentences). The protocol says what; the renderer says how.
//! A leaf: the model's records return it (`model::Record::section`).

/// A titled part of a connection's report, between its summary and HTTP's exchanges.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// "TLS", "SOCKS": the heading (the HTML section's class is its lower case).
    pub title: &'static str,
    /// Shown with the TCP layer too (`--layers tcp`), not only with the layers above.
    pub with_tcp: bool,
    /// What it says, in order.
    pub blocks: Vec<Block>,
    /// Its table, if it has one: listed after the blocks.
    pub table: Option<Table>,
    /// The glossary terms the section uses, explained once after it.
    pub terms: Vec<&'static str>,
}

/// One thing a section says.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A sentence that tells what happened.
    Sentence(String),
    /// Details, one line each (a list in HTML, indented lines on the terminal).
    List(Vec<String>),
    /// A remark; `warn` when it tells of something that did not work.
    Note { text: String, warn: bool },
    /// A problem met while reading the protocol ("! " before it on the terminal).
    Problem(String),
    /// A line whose words are aligned in columns after a label ("user      alice").
    Aligned(String),
}

/// A table of the protocol's units (TLS's records), every row given: the renderer cuts
/// the middle of a long one as it cuts the other tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// What a row is, plural ("records"): in "... 12 records left out"; the HTML
    /// table's class.
    pub noun: &'static str,
    /// Rows not kept at all (beyond the report's bound), said with the cut ones.
    pub omitted: u64,
}

/// A column's heading and how its cells sit.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    /// A narrower heading for the 80-column terminal ("len" for "length").
    pub short: Option<&'static str>,
    pub align: Align,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers: right-aligned on the terminal and in HTML.
    Right,
    /// Numbers named by a mark ("#3"): left on the terminal, right in HTML.
    Number,
    /// A direction, written "->" or "<-" (HTML draws an arrow).
    Arrow,
}

/// A row: its cells, one per column, and its direction ("c2s", "s2c": the HTML row's
/// class, coloured as the segments are).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub class: &'static str,
    pub cells: Vec<String>,
}

impl Column {
    pub fn new(name: &'static str, align: Align) -> Self {
        Column {
            name,
            short: None,
            align,
        }
    }

    /// The heading on the terminal.
    pub fn text_name(&self) -> &'static str {
        self.short.unwrap_or(self.name)
    }
}
