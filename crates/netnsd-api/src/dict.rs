//! Reading `a{sv}` dictionaries key by key, with errors that name the key.
//!
//! [`Dict`] reads what a caller sends (method options, route and rule
//! dictionaries): a key it does not know, or a value of the wrong type, is
//! an `InvalidArgument` that says which key and what was expected. [`Reply`]
//! reads what the daemon answers: each key read is taken out, and the keys
//! left over are a newer daemon's additions, for the caller to pass on.

use std::collections::HashMap;
use std::fmt;

use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant, Variant};

use crate::Error;
use crate::cidr::{Cidr, Family};

/// An `a{sv}` dictionary as it travels.
pub type Dictionary = HashMap<String, OwnedVariant>;

/// A string as a dictionary value.
pub fn string_value(s: impl Into<String>) -> OwnedVariant {
    OwnedVariant::try_from(Variant::from(s.into())).expect("a string variant is always owned")
}

/// The name of a type in messages.
fn type_name(sig: &str) -> &'static str {
    match sig {
        "u" => "uint32",
        "s" => "string",
        "b" => "boolean",
        "o" => "object path",
        "as" => "array of strings",
        _ => "?",
    }
}

/// A dictionary a caller sent, read with typed errors.
pub struct Dict<'a> {
    dict: &'a Dictionary,
    /// How a key is called in messages: `option`, `route key`, `rule key`.
    noun: &'static str,
}

impl<'a> Dict<'a> {
    /// Refuses a dictionary with a key that is not in `known`, naming the
    /// first such key (in sorted order) and listing the known ones.
    pub fn new(dict: &'a Dictionary, noun: &'static str, known: &[&str]) -> Result<Self, Error> {
        let mut unknown: Vec<&str> = dict
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        unknown.sort_unstable();
        if let Some(k) = unknown.first() {
            return Err(Error::InvalidArgument(format!(
                "unknown {noun} \"{k}\"; known: {}",
                known.join(", ")
            )));
        }
        Ok(Dict { dict, noun })
    }

    /// The error for a value of the wrong type.
    pub fn wrong_type(&self, key: &str, sig: &str, v: &Variant<'_>) -> Error {
        Error::InvalidArgument(format!(
            "{} \"{key}\" must be {sig} ({}), not {}",
            self.noun,
            type_name(sig),
            v.value_signature()
        ))
    }

    /// The error for a value of the right type that is not acceptable.
    pub fn invalid(&self, key: &str, problem: impl fmt::Display) -> Error {
        Error::InvalidArgument(format!("{} \"{key}\": {problem}", self.noun))
    }

    pub fn get(&self, key: &str) -> Option<&'a Variant<'static>> {
        self.dict.get(key).map(|v| &**v)
    }

    pub fn u32(&self, key: &str) -> Result<Option<u32>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::U32(n)) => Ok(Some(*n)),
            Some(v) => Err(self.wrong_type(key, "u", v)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(key, "b", v)),
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::Str(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong_type(key, "s", v)),
        }
    }

    pub fn path(&self, key: &str) -> Result<Option<&'a ObjectPath<'static>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::ObjectPath(p)) => Ok(Some(p)),
            Some(v) => Err(self.wrong_type(key, "o", v)),
        }
    }

    pub fn strs(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                Vec::<String>::try_from(v.try_clone().map_err(|_| self.wrong_type(key, "as", v))?)
                    .map(Some)
                    .map_err(|_| self.wrong_type(key, "as", v))
            }
        }
    }

    /// A string value that must be a [`Cidr`].
    pub fn cidr(&self, key: &str) -> Result<Option<Cidr>, Error> {
        self.str(key)?
            .map(|s| s.parse::<Cidr>().map_err(|e| self.invalid(key, e)))
            .transpose()
    }

    /// A string value that must be `inet` or `inet6`.
    pub fn family(&self, key: &str) -> Result<Option<Family>, Error> {
        self.str(key)?
            .map(|s| {
                Family::from_name(s).ok_or_else(|| {
                    self.invalid(key, format!("'{s}' is neither \"inet\" nor \"inet6\""))
                })
            })
            .transpose()
    }
}

/// A dictionary the daemon answered with, read key by key: a key read is
/// taken out, a value of an unexpected type is an error (`Failed`: the
/// daemon, not the caller, is at fault).
pub struct Reply {
    dict: Dictionary,
    /// What the dictionary describes, in messages: `route`, `rule`.
    what: &'static str,
}

impl Reply {
    pub fn new(dict: Dictionary, what: &'static str) -> Self {
        Reply { dict, what }
    }

    fn wrong(&self, key: &str, sig: &str) -> Error {
        Error::Failed(format!(
            "unexpected reply from netnsd: {} key {key:?} is not of type {sig}",
            self.what
        ))
    }

    /// The error for a value of the right type that cannot be what it says.
    pub fn invalid(&self, key: &str, problem: impl fmt::Display) -> Error {
        Error::Failed(format!(
            "unexpected reply from netnsd: {} key {key:?}: {problem}",
            self.what
        ))
    }

    pub fn str(&mut self, key: &str) -> Result<Option<String>, Error> {
        match self.dict.remove(key) {
            None => Ok(None),
            Some(v) => match &*v {
                Variant::Str(s) => Ok(Some(s.as_str().to_owned())),
                _ => Err(self.wrong(key, "s")),
            },
        }
    }

    pub fn u32(&mut self, key: &str) -> Result<Option<u32>, Error> {
        match self.dict.remove(key) {
            None => Ok(None),
            Some(v) => match &*v {
                Variant::U32(n) => Ok(Some(*n)),
                _ => Err(self.wrong(key, "u")),
            },
        }
    }

    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, Error> {
        match self.dict.remove(key) {
            None => Ok(None),
            Some(v) => match &*v {
                Variant::Bool(b) => Ok(Some(*b)),
                _ => Err(self.wrong(key, "b")),
            },
        }
    }

    pub fn path(&mut self, key: &str) -> Result<Option<OwnedObjectPath>, Error> {
        match self.dict.remove(key) {
            None => Ok(None),
            Some(v) => match &*v {
                Variant::ObjectPath(p) => Ok(Some(OwnedObjectPath::from(p.to_owned()))),
                _ => Err(self.wrong(key, "o")),
            },
        }
    }

    /// A string value parsed with `parse`.
    pub fn parsed<T, E: fmt::Display>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Error> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).map_err(|e| self.invalid(key, e)),
        }
    }

    /// The keys not read.
    pub fn rest(self) -> Dictionary {
        self.dict
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn dict(entries: &[(&str, OwnedVariant)]) -> Dictionary {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.try_clone().unwrap()))
            .collect()
    }

    pub(crate) fn s(v: &str) -> OwnedVariant {
        string_value(v)
    }

    pub(crate) fn u(v: u32) -> OwnedVariant {
        OwnedVariant::from(v)
    }

    pub(crate) fn o(v: &str) -> OwnedVariant {
        OwnedVariant::from(ObjectPath::try_from(v.to_string()).unwrap())
    }

    /// Asserts an InvalidArgument whose message contains every one of `words`.
    #[track_caller]
    pub(crate) fn assert_invalid<T: fmt::Debug>(r: Result<T, Error>, words: &[&str]) {
        match r {
            Err(Error::InvalidArgument(m)) => {
                for w in words {
                    assert!(m.contains(w), "{m:?} should mention {w:?}");
                }
            }
            other => panic!("expected InvalidArgument mentioning {words:?}, got {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let d = dict(&[("b", string_value("x")), ("a", OwnedVariant::from(1u32))]);
        let e = Dict::new(&d, "option", &["c"]).err().unwrap();
        assert_eq!(e.message(), "unknown option \"a\"; known: c");
        let r = Dict::new(&d, "option", &["a", "b"]).unwrap();
        assert_eq!(r.u32("a").unwrap(), Some(1));
        assert_eq!(r.str("b").unwrap(), Some("x"));
        assert_eq!(r.bool("c").unwrap(), None);
        let e = r.bool("a").unwrap_err();
        assert_eq!(e.message(), "option \"a\" must be b (boolean), not u");
        let e = r.family("b").unwrap_err();
        assert_eq!(
            e.message(),
            "option \"b\": 'x' is neither \"inet\" nor \"inet6\""
        );
    }

    #[test]
    fn replies_keep_what_is_not_read() {
        let d = dict(&[
            ("table", OwnedVariant::from(254u32)),
            ("future", OwnedVariant::from(true)),
        ]);
        let mut r = Reply::new(d, "route");
        assert_eq!(r.u32("table").unwrap(), Some(254));
        assert_eq!(r.u32("metric").unwrap(), None);
        let e = r.str("future").unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: route key \"future\" is not of type s"
        );
        // A key is taken out even when it had the wrong type.
        assert!(r.rest().is_empty());
    }
}
