//! A client written against the netns prototype's introspection
//! (sgros/NETNS_NetworkManager: nm-netns-controller.xml, nm-netns.xml),
//! with only the prefix changed (docs/porting.md): python3-dbus, the
//! prototype's member names and signatures. Every member of the
//! prototype's two interfaces is in netnsd's introspection with the
//! prototype's signature, and the client's calls work as the guide says.

use netnsd_tests::*;

const PROTOTYPE_CLIENT: &str = r#"
import dbus, sys
import xml.etree.ElementTree as ET
PREFIX_BUS = "net.netnsd.Netns1"          # was org.freedesktop.NetworkManager
PREFIX_PATH = "/net/netnsd/Netns1"        # was /org/freedesktop/NetworkManager
bus = dbus.SystemBus()
ctl_obj = bus.get_object(PREFIX_BUS, PREFIX_PATH + "/NetworkNamespacesController")
ctl = dbus.Interface(ctl_obj, PREFIX_BUS + ".NetworkNamespacesController")
props = lambda o, i: dbus.Interface(o, "org.freedesktop.DBus.Properties").GetAll(i)

# The prototype's members, with their signatures (in args, out args / type).
PROTO = {
  "NetworkNamespacesController": {
    "method": {"ListNetworkNamespaces": ("", "ao"), "AddNetworkNamespace": ("s", "o"),
               "RemoveNetworkNamespace": ("s", "s")},
    "property": {"NetworkNamespaces": "ao"},
    "signal": {"NetworkNamespaceAdded": "o", "NetworkNamespaceRemoved": "o"},
  },
  "NetNsInstance": {
    "method": {"GetDevices": ("", "ao"), "GetAllDevices": ("", "ao"), "TakeDevice": ("oi", ""),
               "ActivateConnection": ("ooo", "o")},
    "property": {"Name": "s", "Devices": "ao", "AllDevices": "ao", "PrimaryConnection": "o",
                 "PrimaryConnectionType": "s", "ActivatingConnection": "o", "Metered": "u"},
    "signal": {"NetnsDeviceAdded": "o", "NetnsDeviceRemoved": "o",
               "NetnsInternalDeviceAdded": "o", "NetnsInternalDeviceRemoved": "o"},
  },
}

def check_introspection(obj, short):
    root = ET.fromstring(dbus.Interface(obj, "org.freedesktop.DBus.Introspectable").Introspect())
    iface = [i for i in root.findall("interface") if i.get("name") == PREFIX_BUS + "." + short]
    assert iface, short + " not exported"
    iface = iface[0]
    for m, (ins, outs) in PROTO[short]["method"].items():
        e = iface.find("method[@name='%s']" % m)
        assert e is not None, short + "." + m + " missing"
        got_in = "".join(a.get("type") for a in e.findall("arg") if a.get("direction", "in") == "in")
        got_out = "".join(a.get("type") for a in e.findall("arg") if a.get("direction") == "out")
        assert (got_in, got_out) == (ins, outs), (m, got_in, got_out)
    for p, t in PROTO[short]["property"].items():
        e = iface.find("property[@name='%s']" % p)
        assert e is not None and e.get("type") == t, short + "." + p
    for s, t in PROTO[short]["signal"].items():
        e = iface.find("signal[@name='%s']" % s)
        assert e is not None, short + "." + s + " missing"
        assert "".join(a.get("type") for a in e.findall("arg")) == t, s

check_introspection(ctl_obj, "NetworkNamespacesController")

before = ctl.ListNetworkNamespaces()
path = ctl.AddNetworkNamespace("port-a")
assert path in ctl.ListNetworkNamespaces(), path
assert path in props(ctl_obj, PREFIX_BUS + ".NetworkNamespacesController")["NetworkNamespaces"]

inst_obj = bus.get_object(PREFIX_BUS, path)
inst = dbus.Interface(inst_obj, PREFIX_BUS + ".NetNsInstance")
check_introspection(inst_obj, "NetNsInstance")
p = props(inst_obj, PREFIX_BUS + ".NetNsInstance")
assert p["Name"] == "port-a", p["Name"]
assert list(p["Devices"]) == list(inst.GetDevices()) == [], p["Devices"]
# GetAllDevices: with the internal device, loopback (docs/porting.md).
assert len(inst.GetAllDevices()) == 1 and list(p["AllDevices"]) == list(inst.GetAllDevices())
assert p["PrimaryConnection"] == "/" and p["ActivatingConnection"] == "/" and p["PrimaryConnectionType"] == ""
assert int(p["Metered"]) == 0

# TakeDevice(device, timeout) with a device of the root namespace.
root_obj = bus.get_object(PREFIX_BUS, PREFIX_PATH + "/NetworkNamespace/0")
root = dbus.Interface(root_obj, PREFIX_BUS + ".NetNsInstance")
dev = None
for d in root.GetDevices():
    i = props(bus.get_object(PREFIX_BUS, d), PREFIX_BUS + ".Device")["Interface"]
    if i == "port-dummy":
        dev = d
assert dev is not None, "port-dummy not on the bus"
inst.TakeDevice(dev, dbus.Int32(5000))
names = [props(bus.get_object(PREFIX_BUS, d), PREFIX_BUS + ".Device")["Interface"] for d in inst.GetDevices()]
assert names == ["port-dummy"], names

# Device.State is NetworkManager's NMDeviceState (u), the kernel's operstate
# is OperState (s) (docs/porting.md, Device).
import subprocess, time
dev_props = lambda d: props(bus.get_object(PREFIX_BUS, d), PREFIX_BUS + ".Device")
def wait_state(d, want, what):
    for _ in range(100):
        p = dev_props(d)
        if int(p["State"]) == want:
            return p
        time.sleep(0.1)
    sys.exit("%s: State %s, not %d (OperState %s)" % (what, p["State"], want, p["OperState"]))
p = dev_props(dev)
assert isinstance(p["State"], dbus.UInt32), repr(p["State"])
assert isinstance(p["OperState"], dbus.String) and p["OperState"] == "down", p["OperState"]
assert int(p["State"]) == 30, p["State"]                  # NM_DEVICE_STATE_DISCONNECTED: down
lo = [d for d in inst.GetAllDevices() if d not in inst.GetDevices()]
assert int(dev_props(lo[0])["State"]) == 10, lo           # NM_DEVICE_STATE_UNMANAGED, as NM's lo
subprocess.run(["ip", "-n", "port-a", "addr", "add", "10.98.0.1/24", "dev", "port-dummy"], check=True)
subprocess.run(["ip", "-n", "port-a", "link", "set", "port-dummy", "up"], check=True)
p = wait_state(dev, 20, "up, its peer down")              # NM_DEVICE_STATE_UNAVAILABLE: no carrier
assert p["OperState"] in ("lowerlayerdown", "down"), p["OperState"]
subprocess.run(["ip", "link", "set", "port-peer", "up"], check=True)
p = wait_state(dev, 100, "up, carrier, an address")       # NM_DEVICE_STATE_ACTIVATED
assert p["OperState"] == "up", p["OperState"]

# ActivateConnection of a path that names no profile: UnknownConnection.
try:
    inst.ActivateConnection(dbus.ObjectPath(PREFIX_PATH + "/Settings/9999"), dbus.ObjectPath("/"), dbus.ObjectPath("/"))
    sys.exit("ActivateConnection of no profile succeeded")
except dbus.DBusException as e:
    assert e.get_dbus_name() == PREFIX_BUS + ".Error.UnknownConnection", e.get_dbus_name()

assert ctl.RemoveNetworkNamespace("port-a") == "Success"
assert path not in ctl.ListNetworkNamespaces()
try:
    ctl.RemoveNetworkNamespace("port-a")
    sys.exit("removed twice")
except dbus.DBusException as e:
    assert e.get_dbus_name() == PREFIX_BUS + ".Error.NotFound", e.get_dbus_name()
print("ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_the_prototypes_api_works_with_the_prefix_changed() {
    let _env = TestEnv::new();
    timed(async {
        ip(&[
            "link",
            "add",
            "port-dummy",
            "type",
            "veth",
            "peer",
            "name",
            "port-peer",
        ])
        .await
        .ok();
        let daemon = Daemon::start().await;
        let out = run("/usr/bin/python3", &["-c", PROTOTYPE_CLIENT]).await;
        assert!(
            out.success() && out.stdout.trim() == "ok",
            "the prototype's client: {out}"
        );
        // The veth went with the namespace, its peer with it.
        // (the kernel cleans a removed namespace up asynchronously).
        wait_for(
            std::time::Duration::from_secs(10),
            "the veth pair to go with port-a",
            || async {
                (ip_link(ROOT_NS_NAME, "port-dummy").await.is_none()
                    && ip_link(ROOT_NS_NAME, "port-peer").await.is_none())
                .then_some(())
            },
        )
        .await;
        assert_nothing_left(&Keep::nothing()).await;
        drop(daemon);
    })
    .await
}
