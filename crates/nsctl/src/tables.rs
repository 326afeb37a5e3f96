//! Routing tables and firewall marks as written on nsctl's command line
//! (`--table main|default|local|N|all`, `--fwmark MARK[/MASK]`), parsed for
//! clap and shown back by name. Shared by `cli` and `routing`.

use std::fmt;
use std::str::FromStr;

use netnsd_api::route::{TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};

/// Table names iproute2 knows without /etc/iproute2/rt_tables.
const TABLE_NAMES: [(&str, u32); 3] = [
    ("default", TABLE_DEFAULT),
    ("main", TABLE_MAIN),
    ("local", TABLE_LOCAL),
];

/// A table on the command line: a number, or main, default, local.
pub fn parse_table(s: &str) -> Result<u32, String> {
    if let Some((_, n)) = TABLE_NAMES.iter().find(|(name, _)| *name == s) {
        return Ok(*n);
    }
    match parse_number(s) {
        Some(0) => Err("0 is not a routing table".into()),
        Some(n) => Ok(n),
        None => Err(format!(
            "'{s}' is not a table number (1-4294967295) or name (main, default, local)"
        )),
    }
}

/// A table as `ip` shows it: by name if it has one.
pub fn table_name(table: u32) -> String {
    TABLE_NAMES
        .iter()
        .find(|(_, n)| *n == table)
        .map_or_else(|| table.to_string(), |(name, _)| (*name).to_owned())
}

/// A number in decimal or, with `0x`, hexadecimal.
fn parse_number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

/// `--fwmark MARK[/MASK]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fwmark {
    pub mark: u32,
    pub mask: Option<u32>,
}

pub fn parse_fwmark(s: &str) -> Result<Fwmark, String> {
    let (mark, mask) = match s.split_once('/') {
        Some((m, k)) => (m, Some(k)),
        None => (s, None),
    };
    let number = |part: &str| {
        parse_number(part).ok_or_else(|| {
            format!("'{part}' is not a number (decimal, or hexadecimal with 0x) in '{s}'")
        })
    };
    Ok(Fwmark {
        mark: number(mark)?,
        mask: mask.map(number).transpose()?,
    })
}

/// `nsctl route list --table`: one table, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSelection {
    All,
    Table(u32),
}

impl TableSelection {
    pub fn contains(self, table: u32) -> bool {
        match self {
            TableSelection::All => true,
            TableSelection::Table(t) => t == table,
        }
    }
}

impl FromStr for TableSelection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            Ok(TableSelection::All)
        } else {
            parse_table(s)
                .map(TableSelection::Table)
                .map_err(|e| format!("{e}, or all"))
        }
    }
}

impl fmt::Display for Fwmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.mark)?;
        if let Some(k) = self.mask {
            write!(f, "/{k:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_by_number_and_name() {
        assert_eq!(parse_table("main"), Ok(254));
        assert_eq!(parse_table("local"), Ok(255));
        assert_eq!(parse_table("default"), Ok(253));
        assert_eq!(parse_table("100"), Ok(100));
        assert_eq!(parse_table("0x64"), Ok(100));
        assert_eq!(parse_table("4294967295"), Ok(u32::MAX));
        for bad in ["0", "", "-1", "x", "4294967296", "0x", "1e3", " 1"] {
            assert!(parse_table(bad).is_err(), "{bad:?}");
        }
        assert_eq!(table_name(254), "main");
        assert_eq!(table_name(253), "default");
        assert_eq!(table_name(100), "100");
        assert_eq!("all".parse(), Ok(TableSelection::All));
        assert_eq!("main".parse(), Ok(TableSelection::Table(254)));
        assert!(
            "al".parse::<TableSelection>()
                .unwrap_err()
                .ends_with("or all")
        );
        assert!(TableSelection::All.contains(7));
        assert!(!TableSelection::Table(254).contains(7));
    }

    #[test]
    fn fwmarks_with_and_without_mask() {
        assert_eq!(
            parse_fwmark("16"),
            Ok(Fwmark {
                mark: 16,
                mask: None
            })
        );
        assert_eq!(
            parse_fwmark("0x10/0xff"),
            Ok(Fwmark {
                mark: 16,
                mask: Some(255)
            })
        );
        for bad in ["", "/", "x", "1/", "/1", "1/2/3", "0xg"] {
            assert!(parse_fwmark(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_fwmark("1/0xff").unwrap().to_string(), "0x1/0xff");
    }
}
