//! Resolving a NetNsInstance method's arguments against the registry:
//! device and namespace paths, new interface names, the uplink namespace of
//! an uplink request; the namespace's active connections; and the manager's
//! configuration replies.

use netnsd_api::{DEVICE_PATH_PREFIX, Error, NAMESPACE_PATH_PREFIX, actions, object_number};
use zbus::message::Header;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::{Dict, NetNsInstance};
use crate::dbus::permissions::{self, Restriction};
use crate::manager::{ActiveInfo, ConfigOp, ConfigReply, ManagerHandle, UplinkSpec};
use netnsd_api::{Cidr, validate};

impl NetNsInstance {
    /// The number of the device at `path`, which must exist.
    pub(super) fn device(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        object_number(path.as_str(), DEVICE_PATH_PREFIX)
            .filter(|n| self.manager.registry.devices.read().device(*n).is_some())
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {path}")))
    }

    /// The number of a device that must be in this namespace.
    pub(super) fn device_here(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        let number = self.device(path)?;
        let reg = &self.manager.registry;
        let d = reg
            .devices
            .read()
            .device(number)
            .cloned()
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {path}")))?;
        if d.ns != self.ns.number || d.in_transit {
            let other = reg
                .namespaces
                .read()
                .by_number(d.ns)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            return Err(Error::InvalidArgument(format!(
                "device {} ({path}) is in namespace {other:?}, not {:?}",
                d.link.name, self.ns.name
            )));
        }
        Ok(number)
    }

    /// The number of the namespace at `path`.
    pub(super) fn namespace(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        object_number(path.as_str(), NAMESPACE_PATH_PREFIX)
            .filter(|n| {
                self.manager
                    .registry
                    .namespaces
                    .read()
                    .by_number(*n)
                    .is_some()
            })
            .ok_or_else(|| Error::NotFound(format!("no namespace at {path}")))
    }

    /// A new interface name: valid, and free in namespace `ns`.
    pub(super) fn new_ifname(&self, name: &str, ns: u32) -> Result<(), Error> {
        validate::ifname(name).map_err(Error::InvalidArgument)?;
        let reg = &self.manager.registry;
        if reg.devices.read().device_named(ns, name).is_some() {
            let ns_name = reg
                .namespaces
                .read()
                .by_number(ns)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            return Err(Error::AlreadyExists(format!(
                "namespace {ns_name:?} already has a device named {name}"
            )));
        }
        Ok(())
    }

    /// The ifindex, in this namespace, of the device at `path`.
    pub(super) fn ifindex_here(&self, path: &str) -> Result<u32, Error> {
        let p = ObjectPath::try_from(path)
            .map_err(|_| Error::InvalidArgument(format!("{path:?} is not an object path")))?;
        let number = self.device_here(&p)?;
        Ok(self
            .manager
            .registry
            .devices
            .read()
            .device(number)
            .map(|d| d.link.ifindex)
            .unwrap_or_default())
    }

    pub(super) fn actives(&self, f: impl Fn(&ActiveInfo) -> bool) -> Vec<ActiveInfo> {
        let n = self.ns.number;
        self.manager
            .registry
            .actives
            .read()
            .values()
            .filter(|a| (a.uplink_ns == n || a.ns == n) && f(a))
            .cloned()
            .collect()
    }

    pub(super) fn primary(&self) -> Option<ActiveInfo> {
        let n = self.ns.number;
        self.actives(|a| a.ns == n && a.state == netnsd_api::state::active::ACTIVATED)
            .into_iter()
            .next()
    }

    /// connection.permissions of the profiles whose isolated namespace this
    /// is (by netns-name, or the namespace their active tunnel is in).
    pub(super) fn restrictions_here(&self) -> Vec<Restriction> {
        let reg = &self.manager.registry;
        let tunnels: Vec<u32> = reg
            .actives
            .read()
            .values()
            .filter(|a| a.ns == self.ns.number && a.uplink_ns != self.ns.number)
            .map(|a| a.profile)
            .collect();
        reg.profiles
            .read()
            .values()
            .filter(|p| {
                tunnels.contains(&p.number)
                    || (p.profile.netns().isolate && p.profile.netns_name() == self.ns.name)
            })
            .filter_map(|p| permissions::restriction(&p.profile))
            .collect()
    }

    /// connection.permissions of profile `number`, if it is restricted.
    pub(super) fn restriction_of(&self, number: u32) -> Vec<Restriction> {
        self.manager
            .registry
            .profiles
            .read()
            .get(&number)
            .and_then(|p| permissions::restriction(&p.profile))
            .into_iter()
            .collect()
    }

    /// Resolves the uplink namespace of a parsed uplink request.
    pub(super) fn resolve_uplink(
        &self,
        req: crate::dbus::options::UplinkRequest,
    ) -> Result<UplinkSpec, Error> {
        let up = resolve_uplink_ns(&self.manager, &req.uplink_netns)?;
        if up == self.ns.number {
            return Err(Error::InvalidArgument(format!(
                "option \"uplink-netns\": namespace {:?} cannot be its own uplink",
                self.ns.name
            )));
        }
        Ok(UplinkSpec {
            uplink_ns: up,
            ..req.spec
        })
    }

    /// The action that guards configuring this namespace: `configure-host`
    /// for the host's own (rootns), `configure` for any other.
    pub(super) fn configure_action(&self) -> &'static str {
        configure_action(self.ns.number)
    }

    /// Authorizes `configure` (`configure-host` in rootns) and runs `op` here.
    pub(super) async fn configure(
        &self,
        hdr: &Header<'_>,
        op: ConfigOp,
    ) -> Result<ConfigReply, Error> {
        self.auth.check(hdr, self.configure_action()).await?;
        self.manager.configure(self.ns.number, op).await
    }
}

/// The action that guards configuring namespace number `ns`: rootns (0) is
/// the host's own network, administrators only.
pub fn configure_action(ns: u32) -> &'static str {
    if ns == 0 {
        actions::CONFIGURE_HOST
    } else {
        actions::CONFIGURE
    }
}

/// The number of the uplink namespace called `name`.
pub fn resolve_uplink_ns(manager: &ManagerHandle, name: &str) -> Result<u32, Error> {
    manager
        .registry
        .namespaces
        .read()
        .get(name)
        .map(|n| n.number)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "option \"uplink-netns\": namespace {name:?} not found"
            ))
        })
}

pub(super) fn root_path() -> OwnedObjectPath {
    ObjectPath::from_static_str_unchecked("/").into()
}

pub(super) fn cidr(s: &str) -> Result<Cidr, Error> {
    s.parse()
        .map_err(|e: String| Error::InvalidArgument(format!("address {s:?}: {e}")))
}

pub(super) fn device_reply(r: ConfigReply) -> Result<OwnedObjectPath, Error> {
    match r {
        ConfigReply::Device(p) => Ok(p),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

pub(super) fn done(r: ConfigReply) -> Result<(), Error> {
    match r {
        ConfigReply::Done => Ok(()),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

pub(super) fn list(r: ConfigReply) -> Result<Vec<Dict>, Error> {
    match r {
        ConfigReply::List(l) => Ok(l),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_namespace_has_an_action_of_its_own() {
        assert_eq!(configure_action(0), actions::CONFIGURE_HOST);
        assert_eq!(configure_action(1), actions::CONFIGURE);
        assert_eq!(configure_action(42), actions::CONFIGURE);
    }
}
