//! net.netnsd.Netns1.NetNsInstance, one object per namespace: its devices,
//! links, addresses, routes and rules, uplink and DNS, connections and
//! Spawn. Each method checks its arguments (`instance/lookup.rs` resolves
//! them against the registry), asks polkit, then asks the manager.

mod forward;
mod lookup;
pub(crate) mod spawn;

use std::collections::HashMap;
use std::time::Duration;

use netnsd_api::link::LinkOptions;
use netnsd_api::route::take_protocol;
use netnsd_api::{Error, Route, Rule, actions, object_number, validate};
use zbus::interface;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant};

use super::auth::Authority;
use super::permissions;
use crate::manager::{ConfigOp, ConfigReply, InstanceProperty, ManagerHandle, Namespace};
use crate::record::UplinkRecord;
use lookup::{cidr, device_reply, done, list, root_path};

pub use lookup::resolve_uplink_ns;

pub(crate) type Dict = HashMap<String, OwnedVariant>;

pub struct NetNsInstance {
    ns: Namespace,
    manager: ManagerHandle,
    auth: Authority,
}

impl NetNsInstance {
    pub fn new(ns: Namespace, manager: ManagerHandle, auth: Authority) -> Self {
        NetNsInstance { ns, manager, auth }
    }
}

#[interface(name = "net.netnsd.Netns1.NetNsInstance")]
impl NetNsInstance {
    /// The namespace's devices, without loopback and other internal ones.
    #[zbus(out_args("devices"))]
    fn get_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .devices
            .read()
            .device_paths(self.ns.number, false)
    }

    /// All of the namespace's devices, loopback included.
    #[zbus(out_args("devices"))]
    fn get_all_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .devices
            .read()
            .device_paths(self.ns.number, true)
    }

    /// The device called NAME in this namespace.
    #[zbus(out_args("device"))]
    fn get_device_by_name(&self, name: String) -> Result<OwnedObjectPath, Error> {
        self.manager
            .registry
            .devices
            .read()
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
            .devices
            .read()
            .device(number)
            .map(|d| d.ns)
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {device}")))?;
        self.auth.check(&hdr, actions::TAKE_DEVICE).await?;
        // A device leaving or entering the host's namespace changes the
        // host's network: that is configure-host's too.
        if from == 0 || self.ns.number == 0 {
            self.auth.check(&hdr, actions::CONFIGURE_HOST).await?;
        }
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
        // A peer born in the host's namespace is a new host link.
        if peer_ns == 0 && self.ns.number != 0 {
            self.auth.check(&hdr, actions::CONFIGURE_HOST).await?;
        }
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

    /// Enslaves DEVICE to MASTER (a bridge in this namespace), or frees it
    /// from its master with "/" (`ip link set DEV master BR | nomaster`).
    async fn set_device_master(
        &self,
        device: ObjectPath<'_>,
        master: ObjectPath<'_>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        let m = if master.as_str() == "/" {
            None
        } else {
            let m = self.device_here(&master)?;
            if m == d {
                return Err(Error::InvalidArgument(
                    "a device cannot be its own master".into(),
                ));
            }
            Some(m)
        };
        done(self.configure(&hdr, ConfigOp::SetMaster(d, m)).await?)
    }

    /// Sets DEVICE's MAC address (`ip link set DEV address MAC`).
    async fn set_device_hw_address(
        &self,
        device: ObjectPath<'_>,
        address: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        let mac = validate::mac(&address).map_err(Error::InvalidArgument)?;
        done(self.configure(&hdr, ConfigOp::SetHwAddress(d, mac)).await?)
    }

    /// Clamps the MSS of TCP SYNs forwarded out of DEVICE to the route's
    /// MTU (ENABLED true), or stops (false).
    async fn set_mss_clamping(
        &self,
        device: ObjectPath<'_>,
        enabled: bool,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        done(
            self.configure(&hdr, ConfigOp::SetMssClamp(d, enabled))
                .await?,
        )
    }

    /// Creates a GRE, IPIP or SIT tunnel NAME here. Options: remote s
    /// (required), local s, ttl u, key u (GRE), and mtu u, up b.
    #[zbus(out_args("device"))]
    async fn add_tunnel(
        &self,
        name: String,
        kind: String,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let kind: netnsd_api::tunnel::TunnelKind = kind.parse().map_err(Error::InvalidArgument)?;
        self.new_ifname(&name, self.ns.number)?;
        let tunnel = netnsd_api::tunnel::TunnelOptions::from_dict(
            kind,
            &options,
            &[netnsd_api::link::key::MTU, netnsd_api::link::key::UP],
        )?;
        let mut link = options.clone();
        link.retain(|k, _| !netnsd_api::tunnel::TunnelOptions::KEYS.contains(&k.as_str()));
        let opts = LinkOptions::from_dict(&link)?;
        device_reply(
            self.configure(
                &hdr,
                ConfigOp::AddTunnel {
                    name,
                    kind,
                    tunnel,
                    opts,
                },
            )
            .await?,
        )
    }

    /// Adds ADDRESS to DEVICE with OPTIONS: peer s, the far end of a
    /// point-to-point link (`ip addr add ADDRESS peer PEER`).
    async fn add_address_with_options(
        &self,
        device: ObjectPath<'_>,
        address: String,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let d = self.device_here(&device)?;
        let c = cidr(&address)?;
        let o = netnsd_api::dict::Dict::new(&options, "option", &["peer"])?;
        let op = match o.cidr("peer")? {
            None => ConfigOp::AddAddress(d, c),
            Some(peer) => {
                if address.contains('/') {
                    return Err(Error::InvalidArgument(format!(
                        "with a peer, the address is bare and the prefix length goes with the peer (as 'ip addr add {} peer {peer}')",
                        c.addr
                    )));
                }
                if c.addr.is_ipv4() != peer.addr.is_ipv4() {
                    return Err(Error::InvalidArgument(format!(
                        "address {} and peer {peer} are of different families",
                        c.addr
                    )));
                }
                ConfigOp::AddPeerAddress(d, c.addr, peer)
            }
        };
        done(self.configure(&hdr, op).await?)
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

    /// Removes exactly the route AddRoute of the same keys made; "protocol"
    /// (default netnsd) names whose route it is.
    async fn remove_route(
        &self,
        mut route: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let protocol = take_protocol(&mut route, "route key")?;
        let r = Route::from_dict(&route, &|p| self.ifindex_here(p))?;
        done(
            self.configure(&hdr, ConfigOp::RemoveRoute(r, protocol))
                .await?,
        )
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

    /// Removes exactly the rule AddRule of the same keys made; "protocol"
    /// (default netnsd) names whose rule it is.
    async fn remove_rule(
        &self,
        mut rule: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let protocol = take_protocol(&mut rule, "rule key")?;
        let r = Rule::from_dict(&rule)?;
        done(
            self.configure(&hdr, ConfigOp::RemoveRule(r, protocol))
                .await?,
        )
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
            .filter(|n| self.manager.registry.profiles.read().contains_key(n))
            .ok_or_else(|| Error::UnknownConnection(format!("no connection at {connection}")))?;
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
        permissions::check(&self.auth, &hdr, self.restriction_of(profile)).await?;
        // Secrets it lacks are asked from the caller's agents.
        let caller = super::agents::caller(&self.auth, &hdr).await?;
        self.manager.activate(profile, self.ns.number, caller).await
    }

    /// Deactivates ACTIVE_CONNECTION.
    async fn deactivate_connection(
        &self,
        active_connection: ObjectPath<'_>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let (n, profile) =
            object_number(active_connection.as_str(), netnsd_api::ACTIVE_PATH_PREFIX)
                .and_then(|n| {
                    let actives = self.manager.registry.actives.read();
                    actives.get(&n).map(|a| (n, a.profile))
                })
                .ok_or_else(|| {
                    Error::ConnectionNotActive(format!(
                        "no active connection at {active_connection}"
                    ))
                })?;
        self.auth.check(&hdr, actions::ACTIVATE_CONNECTION).await?;
        permissions::check(&self.auth, &hdr, self.restriction_of(profile)).await?;
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
        self.auth.check(&hdr, self.configure_action()).await?;
        self.manager.set_uplink(self.ns.number, Some(spec)).await
    }

    /// (ext) Forwards a port of the uplink namespace (the host) to this
    /// namespace's veth uplink address, IPv4 and IPv6. Keys: proto s (tcp,
    /// udp), host-port u, host-address s (optional), port u (default
    /// host-port). Returns the forward's id.
    #[zbus(out_args("id"))]
    async fn add_forward(
        &self,
        options: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<u32, Error> {
        self.do_add_forward(&options, &hdr).await
    }

    /// (ext) Removes forward ID of this namespace.
    async fn remove_forward(&self, id: u32, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        self.do_remove_forward(id, &hdr).await
    }

    /// (ext) This namespace's forwards: the keys of AddForward, with id u
    /// and the addresses forwarded to (address s, address6 s).
    #[zbus(out_args("forwards"))]
    async fn get_forwards(&self) -> Result<Vec<Dict>, Error> {
        self.do_get_forwards().await
    }

    /// Takes the namespace's uplink down (its veth, NAT and routes).
    async fn clear_uplink(&self, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        self.auth.check(&hdr, self.configure_action()).await?;
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
    ) -> Result<u32, Error> {
        let args = self
            .spawn_request(argv, env, cwd, fds, &options, &hdr)
            .await?;
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
        self.uplink_kind().into()
    }

    /// (ext) The DHCP lease of a macvlan uplink with `dhcp`: address (CIDR),
    /// server, gateway, dns, domain, lease-time (s), and obtained, renew-at,
    /// rebind-at, expires-at (seconds since the epoch). Empty: none held.
    #[zbus(property)]
    fn dhcp_lease(&self) -> HashMap<String, OwnedVariant> {
        match self.manager.registry.uplinks.read().get(&self.ns.number) {
            Some(UplinkRecord::Macvlan { lease: Some(l), .. }) => crate::dhcp::lease_dict(l),
            _ => HashMap::new(),
        }
    }

    /// (ext) Split DNS: while a VPN that is not isolated is up here with
    /// domains of its own, the domains its servers answer (each with them);
    /// everything else goes to the namespace's own DNS. Empty: none.
    #[zbus(property)]
    fn split_dns(&self) -> HashMap<String, Vec<String>> {
        self.manager
            .registry
            .split_dns
            .read()
            .get(&self.ns.number)
            .map(|s| s.clone().into_iter().collect())
            .unwrap_or_default()
    }

    /// The name servers in the namespace's resolv.conf (empty: none written).
    #[zbus(property)]
    fn dns_servers(&self) -> Vec<String> {
        self.manager
            .registry
            .dns
            .read()
            .get(&self.ns.number)
            .map(|d| d.servers.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }

    /// The devices, without loopback and other internal ones. A change is
    /// announced by invalidating the property (the list would grow with
    /// the namespace's devices: rootns holds every uplink's host end);
    /// NetnsDeviceAdded/Removed name the device.
    #[zbus(property(emits_changed_signal = "invalidates"))]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        self.get_devices()
    }

    /// All devices, loopback included; changes invalidate it, as Devices.
    #[zbus(property(emits_changed_signal = "invalidates"))]
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

    /// A device joined AllDevices (any device, loopback included).
    #[zbus(signal)]
    pub async fn netns_internal_device_added(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// A device left AllDevices (any device, loopback included).
    #[zbus(signal)]
    pub async fn netns_internal_device_removed(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;
}

impl NetNsInstance {
    /// One PropertiesChanged for `prop` and what changes with it: the DHCP
    /// lease with the uplink, the split DNS with the DNS servers (the
    /// forwarder rewrites resolv.conf).
    pub(super) async fn announce(
        &self,
        e: &SignalEmitter<'_>,
        prop: InstanceProperty,
    ) -> zbus::Result<()> {
        use zbus::wire::Variant;
        let changed: HashMap<&str, Variant<'_>> = match prop {
            InstanceProperty::Uplink => HashMap::from([
                ("DhcpLease", Variant::from(self.dhcp_lease())),
                ("Uplink", Variant::from(self.uplink())),
            ]),
            InstanceProperty::DnsServers => HashMap::from([
                ("SplitDns", Variant::from(self.split_dns())),
                ("DnsServers", Variant::from(self.dns_servers())),
            ]),
            InstanceProperty::ActiveConnections => HashMap::from([(
                "ActiveConnections",
                Variant::from(self.active_connections()),
            )]),
            InstanceProperty::PrimaryConnection => HashMap::from([(
                "PrimaryConnection",
                Variant::from(self.primary_connection().into_inner()),
            )]),
            InstanceProperty::PrimaryConnectionType => HashMap::from([(
                "PrimaryConnectionType",
                Variant::from(self.primary_connection_type()),
            )]),
            InstanceProperty::ActivatingConnection => HashMap::from([(
                "ActivatingConnection",
                Variant::from(self.activating_connection().into_inner()),
            )]),
        };
        properties_changed(e, changed, &[]).await
    }

    /// One PropertiesChanged invalidating AllDevices, and Devices too for a
    /// device that is not internal.
    pub(super) async fn announce_devices(
        &self,
        e: &SignalEmitter<'_>,
        internal: bool,
    ) -> zbus::Result<()> {
        let invalidated: &[&str] = if internal {
            &["AllDevices"]
        } else {
            &["Devices", "AllDevices"]
        };
        properties_changed(e, HashMap::new(), invalidated).await
    }

    /// Uplink's value.
    fn uplink_kind(&self) -> &'static str {
        match self.manager.registry.uplinks.read().get(&self.ns.number) {
            None => "none",
            Some(UplinkRecord::Veth { .. }) => "veth",
            Some(UplinkRecord::Macvlan { .. }) => "macvlan",
        }
    }

    /// Its object, `{oa{sa{sv}}}`, written into the root's
    /// GetManagedObjects reply (objects.rs): its one interface and its
    /// properties as Properties.GetAll gives them (the test managed_objects
    /// holds the two equal). Each table is read as the property's own
    /// getter reads it, one lock at a time; `devices` are its devices as
    /// the device table lists them (`DeviceTable::all_listed`, read once
    /// for every namespace).
    pub(super) fn write_object(
        &self,
        b: &mut super::objects::Body,
        devices: &[crate::manager::Listed],
    ) -> zbus::Result<()> {
        use super::objects::Path;
        use zbus::object_server::Interface;
        let path = Path::Numbered(netnsd_api::NAMESPACE_PATH_PREFIX, self.ns.number);
        b.object(path, &<Self as Interface>::name(), |b| {
            let actives = self.active_connections();
            b.prop_paths(
                "ActiveConnections",
                actives.iter().map(|p| Path::Str(p.as_str())),
            );
            b.prop_path("PrimaryConnection", Path::Str(&self.primary_connection()));
            b.prop_str("PrimaryConnectionType", &self.primary_connection_type());
            b.prop_path(
                "ActivatingConnection",
                Path::Str(&self.activating_connection()),
            );
            b.prop_u32("Metered", self.metered());
            b.prop_str("Uplink", self.uplink_kind());
            b.prop_vardict("DhcpLease", &self.dhcp_lease())?;
            let split = self.split_dns();
            b.prop_str_lists(
                "SplitDns",
                split
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str))),
            );
            {
                let dns = self.manager.registry.dns.read();
                let servers = dns.get(&self.ns.number).map(|d| &d.servers[..]);
                b.prop_display_strs("DnsServers", servers.unwrap_or_default());
            }
            let paths = |all: bool| {
                devices
                    .iter()
                    .filter(move |d| all || !d.internal)
                    .map(|d| Path::Numbered(netnsd_api::DEVICE_PATH_PREFIX, d.number))
            };
            b.prop_paths("Devices", paths(false));
            b.prop_paths("AllDevices", paths(true));
            b.prop_str("Name", &self.ns.name);
            b.prop_u64("Id", self.ns.inode);
            b.prop_str("Path", &self.ns.path);
            b.prop_bool("Persistent", self.ns.persistent);
            b.prop_bool("Managed", self.ns.managed);
            Ok(())
        })
    }
}

/// PropertiesChanged of net.netnsd.Netns1.NetNsInstance.
async fn properties_changed(
    e: &SignalEmitter<'_>,
    changed: HashMap<&str, zbus::wire::Variant<'_>>,
    invalidated: &[&str],
) -> zbus::Result<()> {
    use zbus::object_server::Interface;
    zbus::fdo::Properties::properties_changed(
        e,
        <NetNsInstance as Interface>::name(),
        changed,
        std::borrow::Cow::Borrowed(invalidated),
    )
    .await
}
