//! net.netnsd.Netns1.NetNsInstance, one object per namespace.

use std::collections::HashMap;
use std::time::Duration;

use netnsd_api::dict;
use netnsd_api::link::LinkOptions;
use netnsd_api::{
    Cidr, DEVICE_PATH_PREFIX, Error, NAMESPACE_PATH_PREFIX, Route, Rule, actions, object_number,
    validate,
};
use zbus::interface;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant};

use super::auth::Authority;
use crate::manager::{ConfigOp, ConfigReply, ManagerHandle, Namespace};

type Dict = HashMap<String, OwnedVariant>;

pub struct NetNsInstance {
    ns: Namespace,
    manager: ManagerHandle,
    auth: Authority,
}

impl NetNsInstance {
    pub fn new(ns: Namespace, manager: ManagerHandle, auth: Authority) -> Self {
        NetNsInstance { ns, manager, auth }
    }

    /// The number of the device at `path`, which must exist.
    fn device(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        object_number(path.as_str(), DEVICE_PATH_PREFIX)
            .filter(|n| self.manager.registry.read().unwrap().device(*n).is_some())
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {path}")))
    }
}

impl NetNsInstance {
    /// The number of a device that must be in this namespace.
    fn device_here(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        let number = self.device(path)?;
        let reg = self.manager.registry.read().unwrap();
        let d = reg.device(number).expect("checked by device()");
        if d.ns != self.ns.number || d.in_transit {
            let other = reg
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
    fn namespace(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        object_number(path.as_str(), NAMESPACE_PATH_PREFIX)
            .filter(|n| {
                self.manager
                    .registry
                    .read()
                    .unwrap()
                    .by_number(*n)
                    .is_some()
            })
            .ok_or_else(|| Error::NotFound(format!("no namespace at {path}")))
    }

    /// A new interface name: valid, and free in namespace `ns`.
    fn new_ifname(&self, name: &str, ns: u32) -> Result<(), Error> {
        validate::ifname(name).map_err(Error::InvalidArgument)?;
        let reg = self.manager.registry.read().unwrap();
        if reg.device_named(ns, name).is_some() {
            let ns_name = reg
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
    fn ifindex_here(&self, path: &str) -> Result<u32, Error> {
        let p = ObjectPath::try_from(path)
            .map_err(|_| Error::InvalidArgument(format!("{path:?} is not an object path")))?;
        let number = self.device_here(&p)?;
        Ok(self
            .manager
            .registry
            .read()
            .unwrap()
            .device(number)
            .map(|d| d.link.ifindex)
            .unwrap_or_default())
    }

    fn actives(
        &self,
        f: impl Fn(&crate::manager::ActiveInfo) -> bool,
    ) -> Vec<crate::manager::ActiveInfo> {
        let n = self.ns.number;
        self.manager
            .registry
            .read()
            .unwrap()
            .actives
            .values()
            .filter(|a| (a.uplink_ns == n || a.ns == n) && f(a))
            .cloned()
            .collect()
    }

    fn primary(&self) -> Option<crate::manager::ActiveInfo> {
        let n = self.ns.number;
        self.actives(|a| a.ns == n && a.state == netnsd_api::state::active::ACTIVATED)
            .into_iter()
            .next()
    }

    /// The namespace as the manager knows it now.
    fn current(&self) -> Option<Namespace> {
        self.manager
            .registry
            .read()
            .unwrap()
            .get(&self.ns.name)
            .cloned()
    }

    /// Resolves the uplink namespace of a parsed uplink request.
    pub fn resolve_uplink(
        &self,
        req: super::options::UplinkRequest,
    ) -> Result<crate::manager::UplinkSpec, Error> {
        let up = resolve_uplink_ns(&self.manager, &req.uplink_netns)?;
        if up == self.ns.number {
            return Err(Error::InvalidArgument(format!(
                "option \"uplink-netns\": namespace {:?} cannot be its own uplink",
                self.ns.name
            )));
        }
        Ok(crate::manager::UplinkSpec {
            uplink_ns: up,
            ..req.spec
        })
    }

    /// Authorizes `configure` and runs `op` here.
    async fn configure(&self, hdr: &Header<'_>, op: ConfigOp) -> Result<ConfigReply, Error> {
        self.auth.check(hdr, actions::CONFIGURE).await?;
        self.manager.configure(self.ns.number, op).await
    }
}

/// The number of the uplink namespace called `name`.
pub fn resolve_uplink_ns(manager: &ManagerHandle, name: &str) -> Result<u32, Error> {
    manager
        .registry
        .read()
        .unwrap()
        .get(name)
        .map(|n| n.number)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "option \"uplink-netns\": namespace {name:?} not found"
            ))
        })
}

fn root_path() -> OwnedObjectPath {
    ObjectPath::from_static_str_unchecked("/").into()
}

/// Announces the connection properties of namespace `ns`.
pub async fn connections_changed(conn: Option<&zbus::Connection>, ns: u32) {
    let Some(conn) = conn else { return };
    let Ok(iface) = conn
        .object_server()
        .interface::<_, NetNsInstance>(netnsd_api::namespace_path(ns))
        .await
    else {
        return;
    };
    let e = iface.signal_emitter();
    let i = iface.get().await;
    let _ = i.active_connections_changed(e).await;
    let _ = i.primary_connection_changed(e).await;
    let _ = i.primary_connection_type_changed(e).await;
    let _ = i.activating_connection_changed(e).await;
}

fn cidr(s: &str) -> Result<Cidr, Error> {
    s.parse()
        .map_err(|e: String| Error::InvalidArgument(format!("address {s:?}: {e}")))
}

fn device_reply(r: ConfigReply) -> Result<OwnedObjectPath, Error> {
    match r {
        ConfigReply::Device(p) => Ok(p),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

fn done(r: ConfigReply) -> Result<(), Error> {
    match r {
        ConfigReply::Done => Ok(()),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

fn list(r: ConfigReply) -> Result<Vec<Dict>, Error> {
    match r {
        ConfigReply::List(l) => Ok(l),
        _ => Err(Error::Failed("unexpected reply from the manager".into())),
    }
}

#[interface(name = "net.netnsd.Netns1.NetNsInstance")]
impl NetNsInstance {
    /// The namespace's devices, without loopback and other internal ones.
    #[zbus(out_args("devices"))]
    fn get_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .read()
            .unwrap()
            .device_paths(self.ns.number, false)
    }

    /// All of the namespace's devices, loopback included.
    #[zbus(out_args("devices"))]
    fn get_all_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .read()
            .unwrap()
            .device_paths(self.ns.number, true)
    }

    /// The device called NAME in this namespace.
    #[zbus(out_args("device"))]
    fn get_device_by_name(&self, name: String) -> Result<OwnedObjectPath, Error> {
        self.manager
            .registry
            .read()
            .unwrap()
            .device_named(self.ns.number, &name)
            .map(|d| d.object_path())
            .ok_or_else(|| {
                Error::UnknownDevice(format!(
                    "no device {name:?} in namespace {:?}",
                    self.ns.name
                ))
            })
    }

    /// Moves DEVICE here from whichever namespace holds it, and answers once
    /// it is seen here, or fails with Timeout after TIMEOUT_MS milliseconds
    /// (the device is then moved back, and the error comes once it is back).
    async fn take_device(
        &self,
        device: ObjectPath<'_>,
        timeout_ms: i32,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now();
        let number = self.device(&device)?;
        let Ok(ms) = u64::try_from(timeout_ms) else {
            return Err(Error::InvalidArgument(format!(
                "timeout_ms {timeout_ms} is negative"
            )));
        };
        let deadline = deadline + Duration::from_millis(ms);
        let from = self
            .manager
            .registry
            .read()
            .unwrap()
            .device(number)
            .map(|d| d.ns)
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {device}")))?;
        self.auth.check(&hdr, actions::TAKE_DEVICE).await?;
        let arrived = self.manager.take_device(number, self.ns.number).await?;
        // An arrival counts only if it came by the deadline: a future that is
        // already resolved would otherwise win over a deadline already past.
        match tokio::time::timeout_at(deadline, arrived).await {
            Ok(Ok(())) if tokio::time::Instant::now() <= deadline => Ok(()),
            _ => {
                // Answer only once the device is back where it was.
                let back = self.manager.undo_take(number, from).await;
                let _ = tokio::time::timeout(Duration::from_secs(5), back).await;
                Err(Error::Timeout(format!(
                    "device {device} was not seen in namespace {:?} within {ms} ms",
                    self.ns.name
                )))
            }
        }
    }

    /// Creates a veth pair: NAME here and PEER_NAME born directly in
    /// PEER_NAMESPACE (which may be this one). Options: mtu u, up b (this
    /// end; default false), stable-mac b.
    #[zbus(out_args("device", "peer"))]
    async fn add_veth(
        &self,
        name: String,
        peer_name: String,
        peer_namespace: ObjectPath<'_>,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(OwnedObjectPath, OwnedObjectPath), Error> {
        let peer_ns = self.namespace(&peer_namespace)?;
        self.new_ifname(&name, self.ns.number)?;
        self.new_ifname(&peer_name, peer_ns)?;
        if peer_ns == self.ns.number && name == peer_name {
            return Err(Error::InvalidArgument(format!(
                "both ends are named {name} in the same namespace"
            )));
        }
        let opts = LinkOptions::from_dict(&options)?;
        match self
            .configure(
                &hdr,
                ConfigOp::AddVeth {
                    name,
                    peer: peer_name,
                    peer_ns,
                    opts,
                },
            )
            .await?
        {
            ConfigReply::Pair(a, b) => Ok((a, b)),
            _ => Err(Error::Failed("unexpected reply from the manager".into())),
        }
    }

    /// Creates a macvlan NAME here on PARENT (a device in any namespace),
    /// born directly here. Options: mode s (bridge, private, vepa, passthru,
    /// source; default bridge), mtu u, up b, stable-mac b.
    #[zbus(out_args("device"))]
    async fn add_macvlan(
        &self,
        name: String,
        parent: ObjectPath<'_>,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let parent = self.device(&parent)?;
        self.new_ifname(&name, self.ns.number)?;
        let opts = LinkOptions::from_dict(&options)?;
        device_reply(
            self.configure(&hdr, ConfigOp::AddMacvlan { name, parent, opts })
                .await?,
        )
    }

    /// Creates a bridge NAME here. Options: mtu u, up b, stable-mac b.
    #[zbus(out_args("device"))]
    async fn add_bridge(
        &self,
        name: String,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        self.new_ifname(&name, self.ns.number)?;
        let opts = LinkOptions::from_dict(&options)?;
        device_reply(
            self.configure(&hdr, ConfigOp::AddBridge { name, opts })
                .await?,
        )
    }

    /// Creates an 802.1Q VLAN NAME with id VLAN_ID (1-4094) on PARENT, born
    /// here. NotSupported where the kernel lacks 802.1Q.
    #[zbus(out_args("device"))]
    async fn add_vlan(
        &self,
        name: String,
        parent: ObjectPath<'_>,
        vlan_id: u16,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let parent = self.device(&parent)?;
        self.new_ifname(&name, self.ns.number)?;
        if !(1..=4094).contains(&vlan_id) {
            return Err(Error::InvalidArgument(format!(
                "vlan_id {vlan_id} is outside 1-4094"
            )));
        }
        let opts = LinkOptions::from_dict(&options)?;
        device_reply(
            self.configure(
                &hdr,
                ConfigOp::AddVlan {
                    name,
                    parent,
                    vlan_id,
                    opts,
                },
            )
            .await?,
        )
    }

    /// Deletes DEVICE (with its peer, for a veth).
    async fn delete_device(
        &self,
        device: ObjectPath<'_>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        done(self.configure(&hdr, ConfigOp::DeleteDevice(d)).await?)
    }

    /// Sets DEVICE administratively up or down.
    async fn set_device_up(
        &self,
        device: ObjectPath<'_>,
        up: bool,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        done(self.configure(&hdr, ConfigOp::SetUp(d, up)).await?)
    }

    /// Sets DEVICE's MTU.
    async fn set_device_mtu(
        &self,
        device: ObjectPath<'_>,
        mtu: u32,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        validate::mtu(mtu).map_err(Error::InvalidArgument)?;
        done(self.configure(&hdr, ConfigOp::SetMtu(d, mtu)).await?)
    }

    /// Renames DEVICE; its object path stays.
    async fn rename_device(
        &self,
        device: ObjectPath<'_>,
        new_name: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        self.new_ifname(&new_name, self.ns.number)?;
        done(self.configure(&hdr, ConfigOp::Rename(d, new_name)).await?)
    }

    /// Adds ADDRESS (CIDR, IPv4 or IPv6) to DEVICE.
    async fn add_address(
        &self,
        device: ObjectPath<'_>,
        address: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        let c = cidr(&address)?;
        done(self.configure(&hdr, ConfigOp::AddAddress(d, c)).await?)
    }

    /// Removes ADDRESS (CIDR) from DEVICE.
    async fn remove_address(
        &self,
        device: ObjectPath<'_>,
        address: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        let c = cidr(&address)?;
        done(self.configure(&hdr, ConfigOp::RemoveAddress(d, c)).await?)
    }

    /// Adds a route. Keys: destination s (CIDR or "default"), gateway s,
    /// device o, table u (default 254, main), metric u, scope s (global,
    /// link, host), family s (inet, inet6). Installed with protocol 110
    /// ("netnsd").
    async fn add_route(&self, route: Dict, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let r = Route::from_dict(&route, &|p| self.ifindex_here(p))?;
        done(self.configure(&hdr, ConfigOp::AddRoute(r)).await?)
    }

    /// Removes a route described with the keys of AddRoute.
    async fn remove_route(
        &self,
        route: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let r = Route::from_dict(&route, &|p| self.ifindex_here(p))?;
        done(self.configure(&hdr, ConfigOp::RemoveRoute(r)).await?)
    }

    /// Every route of every table but "local", with the keys of AddRoute and
    /// protocol s ("netnsd" for the routes this daemon installed).
    #[zbus(out_args("routes"))]
    async fn get_routes(&self) -> Result<Vec<Dict>, Error> {
        list(
            self.manager
                .configure(self.ns.number, ConfigOp::ListRoutes)
                .await?,
        )
    }

    /// Adds a policy-routing rule. Keys: table u (required), priority u,
    /// from s, to s (CIDR), iif s, oif s, fwmark u, fwmask u, family s.
    async fn add_rule(&self, rule: Dict, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let r = Rule::from_dict(&rule)?;
        done(self.configure(&hdr, ConfigOp::AddRule(r)).await?)
    }

    /// Removes a rule described with the keys of AddRule.
    async fn remove_rule(&self, rule: Dict, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let r = Rule::from_dict(&rule)?;
        done(self.configure(&hdr, ConfigOp::RemoveRule(r)).await?)
    }

    /// Every policy-routing rule, IPv4 and IPv6.
    #[zbus(out_args("rules"))]
    async fn get_rules(&self) -> Result<Vec<Dict>, Error> {
        list(
            self.manager
                .configure(self.ns.number, ConfigOp::ListRules)
                .await?,
        )
    }

    /// Activates CONNECTION (a Settings.Connection object) from this
    /// namespace: a VPN client runs here, where the uplink is; with
    /// connection.netns-isolate its tunnel is then taken into the namespace
    /// netns-name names. DEVICE and SPECIFIC_OBJECT are "/" for VPNs.
    /// Returns the Connection.Active object at once; its StateChanged and
    /// VpnStateChanged signals tell how it goes.
    #[zbus(out_args("active_connection"))]
    async fn activate_connection(
        &self,
        connection: ObjectPath<'_>,
        device: ObjectPath<'_>,
        specific_object: ObjectPath<'_>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let profile = object_number(connection.as_str(), netnsd_api::SETTINGS_PATH)
            .filter(|n| {
                self.manager
                    .registry
                    .read()
                    .unwrap()
                    .profiles
                    .contains_key(n)
            })
            .ok_or_else(|| Error::NotFound(format!("no connection at {connection}")))?;
        if device.as_str() != "/" {
            return Err(Error::NotSupported(format!(
                "activating on a device ({device}) is not supported; pass \"/\" for a VPN"
            )));
        }
        if specific_object.as_str() != "/" {
            return Err(Error::InvalidArgument(format!(
                "specific_object {specific_object}: pass \"/\""
            )));
        }
        self.auth.check(&hdr, actions::ACTIVATE_CONNECTION).await?;
        self.manager.activate(profile, self.ns.number).await
    }

    /// Deactivates ACTIVE_CONNECTION.
    async fn deactivate_connection(
        &self,
        active_connection: ObjectPath<'_>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let n = object_number(active_connection.as_str(), netnsd_api::ACTIVE_PATH_PREFIX)
            .filter(|n| {
                self.manager
                    .registry
                    .read()
                    .unwrap()
                    .actives
                    .contains_key(n)
            })
            .ok_or_else(|| {
                Error::NotFound(format!("no active connection at {active_connection}"))
            })?;
        self.auth.check(&hdr, actions::ACTIVATE_CONNECTION).await?;
        self.manager.deactivate(n).await
    }

    /// The active connections that run from or end in this namespace.
    #[zbus(property)]
    fn active_connections(&self) -> Vec<OwnedObjectPath> {
        self.actives(|_| true)
            .into_iter()
            .map(|a| a.object_path())
            .collect()
    }

    /// The activated connection whose device is in this namespace ("/" if
    /// none): for an isolated namespace, its VPN.
    #[zbus(property)]
    fn primary_connection(&self) -> OwnedObjectPath {
        self.primary()
            .map(|a| a.object_path())
            .unwrap_or_else(root_path)
    }

    /// The type of PrimaryConnection ("vpn"), empty if none.
    #[zbus(property)]
    fn primary_connection_type(&self) -> String {
        self.primary().map(|a| a.kind).unwrap_or_default()
    }

    /// A connection being activated from or into this namespace ("/" if none).
    #[zbus(property)]
    fn activating_connection(&self) -> OwnedObjectPath {
        self.actives(|a| a.state == netnsd_api::state::active::ACTIVATING)
            .first()
            .map(|a| a.object_path())
            .unwrap_or_else(root_path)
    }

    /// NMMetered of the primary connection: 0 unknown (netnsd does not
    /// guess metering).
    #[zbus(property)]
    fn metered(&self) -> u32 {
        0
    }

    /// Gives the namespace an uplink (replacing any it has): see
    /// AddNetworkNamespaceWithOptions for the keys.
    async fn set_uplink(
        &self,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let Some(req) = super::options::uplink(&options)? else {
            return Err(Error::InvalidArgument("option \"uplink\" must name an uplink (veth or macvlan); use ClearUplink to remove one".into()));
        };
        let spec = self.resolve_uplink(req)?;
        self.auth.check(&hdr, actions::CONFIGURE).await?;
        self.manager.set_uplink(self.ns.number, Some(spec)).await
    }

    /// Takes the namespace's uplink down (its veth, NAT and routes).
    async fn clear_uplink(&self, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        self.auth.check(&hdr, actions::CONFIGURE).await?;
        self.manager.set_uplink(self.ns.number, None).await
    }

    /// Writes /etc/netns/NAME/{resolv.conf,hosts,nsswitch.conf} with these
    /// name servers and search domains.
    async fn set_dns(
        &self,
        servers: Vec<String>,
        search: Vec<String>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        if self.ns.number == 0 {
            return Err(Error::PermissionDenied(
                "the root namespace uses the host's own /etc files".into(),
            ));
        }
        let dns = super::options::parse_dns(&servers, &search, "servers", "search")?;
        self.auth.check(&hdr, actions::CONFIGURE).await?;
        self.manager.set_dns(self.ns.number, Some(dns)).await
    }

    /// Runs ARGV in this namespace as the calling user (uid, gid and groups
    /// from the bus's credentials for the caller), like `ip netns exec`: in
    /// a private mount namespace with /etc/netns/NAME/* bound over /etc and
    /// /sys remounted, the host's resolver sockets hidden, in a session of
    /// its own, with exactly ENV, in CWD (empty: the user's home), and only
    /// the descriptors in FDS ("stdin", "stdout", "stderr"; missing ones are
    /// /dev/null). Options: pty b — make stdin the controlling terminal.
    /// Returns the pid; ProcessExited announces the end.
    #[zbus(out_args("pid"))]
    #[allow(clippy::too_many_arguments)]
    async fn spawn(
        &self,
        argv: Vec<String>,
        env: HashMap<String, String>,
        cwd: String,
        fds: HashMap<String, zbus::wire::OwnedFd>,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<u32, Error> {
        if self.ns.number == 0 {
            return Err(Error::InvalidArgument(
                "Spawn runs programs in other namespaces; run it directly in the root namespace"
                    .into(),
            ));
        }
        if argv.first().is_none_or(|a| a.is_empty()) {
            return Err(Error::InvalidArgument("argv is empty".into()));
        }
        if let Some(k) = env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(Error::InvalidArgument(format!(
                "environment variable name {k:?} is not valid"
            )));
        }
        if !cwd.is_empty() && !cwd.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "cwd {cwd:?} is not an absolute path"
            )));
        }
        let mut fds = fds;
        if let Some(k) = fds
            .keys()
            .find(|k| !["stdin", "stdout", "stderr"].contains(&k.as_str()))
        {
            return Err(Error::InvalidArgument(format!(
                "fds key {k:?}: only stdin, stdout and stderr can be passed"
            )));
        }
        let mut take = |k: &str| fds.remove(k).map(std::os::fd::OwnedFd::from);
        let (stdin, stdout, stderr) = (take("stdin"), take("stdout"), take("stderr"));
        let pty = dict::Dict::new(&options, "option", &["pty"])?
            .bool("pty")?
            .unwrap_or(false);
        if pty && stdin.is_none() {
            return Err(Error::InvalidArgument(
                "option \"pty\" needs a terminal passed as stdin".into(),
            ));
        }
        let sender = hdr
            .sender()
            .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
            .to_owned();
        let creds = zbus::fdo::DBusProxy::new(conn)
            .await?
            .get_connection_credentials(sender.into())
            .await
            .map_err(|e| Error::PermissionDenied(format!("cannot learn who the caller is: {e}")))?;
        let uid = creds.unix_user_id().ok_or_else(|| {
            Error::PermissionDenied("the bus does not know the caller's uid".into())
        })?;
        let groups = creds.unix_group_ids().cloned();
        self.auth.check(&hdr, actions::SPAWN).await?;
        let identity = tokio::task::spawn_blocking(move || crate::spawn::identity(uid, groups))
            .await
            .map_err(|e| Error::Failed(e.to_string()))?
            .map_err(|e| Error::Failed(format!("look up uid {uid}: {e}")))?;
        let args = crate::manager::SpawnArgs {
            argv,
            env,
            cwd,
            stdin,
            stdout,
            stderr,
            pty,
            identity,
        };
        self.manager.spawn(self.ns.number, args).await
    }

    /// A process started with Spawn ended: its exit status, or minus the
    /// number of the signal that killed it.
    #[zbus(signal)]
    pub async fn process_exited(
        emitter: &SignalEmitter<'_>,
        pid: u32,
        status: i32,
    ) -> zbus::Result<()>;

    /// Removes the namespace's /etc/netns files.
    async fn clear_dns(&self, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        if self.ns.number == 0 {
            return Err(Error::PermissionDenied(
                "the root namespace uses the host's own /etc files".into(),
            ));
        }
        self.auth.check(&hdr, actions::CONFIGURE).await?;
        self.manager.set_dns(self.ns.number, None).await
    }

    /// The kind of uplink: "none", "veth" or "macvlan".
    #[zbus(property)]
    fn uplink(&self) -> String {
        match self.current().and_then(|n| n.uplink) {
            None => "none".into(),
            Some(crate::record::UplinkRecord::Veth { .. }) => "veth".into(),
            Some(crate::record::UplinkRecord::Macvlan { .. }) => "macvlan".into(),
        }
    }

    /// The name servers in the namespace's resolv.conf (empty: none written).
    #[zbus(property)]
    fn dns_servers(&self) -> Vec<String> {
        self.current()
            .and_then(|n| n.dns)
            .map(|d| d.servers.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }

    /// The devices, without loopback and other internal ones.
    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        self.get_devices()
    }

    /// All devices, loopback included.
    #[zbus(property)]
    fn all_devices(&self) -> Vec<OwnedObjectPath> {
        self.get_all_devices()
    }

    /// The namespace's name; "rootns" for the root namespace.
    #[zbus(property(emits_changed_signal = "const"))]
    fn name(&self) -> String {
        self.ns.name.clone()
    }

    /// The namespace's inode number.
    #[zbus(property(emits_changed_signal = "const"))]
    fn id(&self) -> u64 {
        self.ns.inode
    }

    /// /run/netns/NAME; empty for the root namespace.
    #[zbus(property(emits_changed_signal = "const"))]
    fn path(&self) -> String {
        self.ns.path.clone()
    }

    /// Whether the namespace outlives the daemon and its connections.
    #[zbus(property)]
    fn persistent(&self) -> bool {
        self.ns.persistent
    }

    /// Whether netnsd created the namespace (false if it was adopted).
    #[zbus(property)]
    fn managed(&self) -> bool {
        self.ns.managed
    }

    /// A device appeared in (or moved into) the namespace.
    #[zbus(signal)]
    pub async fn netns_device_added(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// A device vanished from (or moved out of) the namespace.
    #[zbus(signal)]
    pub async fn netns_device_removed(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// An internal device (loopback) appeared.
    #[zbus(signal)]
    pub async fn netns_internal_device_added(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// An internal device (loopback) vanished.
    #[zbus(signal)]
    pub async fn netns_internal_device_removed(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;
}
