//! A real strongSwan responder for the plugin-host tests (issue 17), added
//! to the OpenVPN rig's `wan` (tests/src/openvpn.rs): Debian's `charon`
//! with kernel-libipsec (this kernel has no ESP), configured with swanctl
//! over its own vici socket, its own strongswan.conf (STRONGSWAN_CONF),
//! listening on 203.0.113.1:500/4500. It hands out virtual IPs from
//! 10.77.0.0/24 with DNS 10.99.0.53 and gives access to corp
//! (10.99.0.0/24). Its connections: `psk` (IKEv2, pre-shared key, client
//! id alice@corp.test), `eap` (the server's RSA certificate, made now
//! with openssl, the client EAP-MD5 user bob), `cert` (both ends by
//! certificates of the test CA, the client's subject CN=dave) and `vpnc`
//! (IKEv1 XAuth).
//!
//! The client side is NetworkManager's strongSwan plugin as Debian ships
//! it (charon-nm from strongswan-nm, the .name file from
//! network-manager-strongswan), with kernel-libipsec enabled for charon-nm
//! in /etc/strongswan.d (the sandbox's /etc is an overlay): that file is
//! what a user writes too (docs/vpn.md).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::leftovers::*;
use crate::openvpn::*;

pub const CHARON_BIN: &str = "/usr/lib/ipsec/charon";
pub const CHARON_NM_BIN: &str = "/usr/lib/ipsec/charon-nm";
pub const SWANCTL_BIN: &str = "/usr/sbin/swanctl";
pub const STRONGSWAN_SERVICE: &str = "org.freedesktop.NetworkManager.strongswan";

pub const IPSEC_POOL_PREFIX: &str = "10.77.0.";
pub const PSK_ID: &str = "alice@corp.test";
/// charon-nm refuses a pre-shared key shorter than 20 characters.
pub const PSK: &str = "netnsd-ipsec-psk-4b9e-long-enough";
pub const EAP_USER: &str = "bob";
pub const EAP_PASSWORD: &str = "eap-secret-pw-91c2";
/// The client certificate's subject (made by the rig with openssl, signed
/// by the test CA; the responder's `cert` connection wants it).
pub const CERT_CLIENT_DN: &str = "CN=dave";
/// The passphrase of the client key's encrypted copy (client-encrypted.key).
pub const CERT_KEY_PASSPHRASE: &str = "key-passphrase-5e0a";

/// vpnc (network-manager-vpnc) against the responder's IKEv1 aggressive
/// mode with XAuth: the group (IPSec ID) and its secret, the XAuth user.
pub const VPNC_SERVICE: &str = "org.freedesktop.NetworkManager.vpnc";
pub const NM_VPNC_BIN: &str = "/usr/lib/NetworkManager/nm-vpnc-service";
pub const VPNC_BIN: &str = "/usr/sbin/vpnc";
pub const VPNC_GROUP: &str = "corp";
pub const VPNC_GROUP_SECRET: &str = "vpnc-group-secret-77d1";
pub const VPNC_USER: &str = "carol";
pub const VPNC_PASSWORD: &str = "xauth-pw-3a8f";

/// What charon-nm needs for netnsd (docs/vpn.md): kernel-libipsec, and no
/// routes or routing rule of its own in the uplink namespace.
pub const CHARON_NM_CONF: &str = "/etc/strongswan.d/charon-nm-netnsd.conf";

/// charon-nm loads a fixed list of plugins (not strongswan.d's `load`
/// keys): Debian's list, with kernel-libipsec.
pub const CHARON_NM_PLUGINS: &str = "aes rc2 sha2 sha1 md5 mgf1 random nonce x509 revocation \
    constraints pkcs1 pkcs7 sshkey pem pkcs8 fips-prf gmp xcbc hmac kdf drbg kernel-libipsec \
    kernel-netlink socket-default eap-identity eap-md5 eap-gtc eap-tls eap-ttls";

/// The proposals both ends use (what this strongSwan can do without its
/// openssl plugin).
pub const IKE_PROPOSAL: &str = "aes128-sha256-modp3072";
pub const ESP_PROPOSAL: &str = "aes128-sha256";

/// The strongSwan responder in wan.
pub struct StrongSwanGw {
    child: Option<Child>,
    pub dir: PathBuf,
    log: PathBuf,
    pub ca: PathBuf,
}

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kill_all(bin: &str) {
    for (pid, _) in processes_of(bin) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

impl StrongSwanGw {
    pub async fn start(rig: &OpenVpnRig) -> StrongSwanGw {
        for bin in [CHARON_BIN, CHARON_NM_BIN, SWANCTL_BIN, "/usr/bin/openssl"] {
            assert!(
                Path::new(bin).exists(),
                "the IPsec tests need {bin} (tests/run installs it)"
            );
        }
        kill_all(CHARON_BIN);
        kill_all(CHARON_NM_BIN);
        std::fs::write(
            CHARON_NM_CONF,
            format!(
                "charon-nm {{\n  install_routes = no\n  routing_table = 0\n  load = {CHARON_NM_PLUGINS}\n  \
                 plugins {{\n    kernel-libipsec {{\n      load = yes\n    }}\n  }}\n  \
                 filelog {{\n    nm {{\n      path = {}/charon-nm.log\n      default = 1\n      ike = 2\n    }}\n  }}\n}}\n",
                rig.dir().join("strongswan").display()
            ),
        )
        .unwrap();
        let dir = rig.dir().join("strongswan");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap().to_owned();
        sh(
            &dir,
            &format!("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
             -subj '/CN=netnsd test IPsec CA' \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
             printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment\\n\
extendedKeyUsage=serverAuth,1.3.6.1.5.5.8.2.2\\nsubjectAltName=IP:203.0.113.1\\n' > server.ext
             openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
             -subj '/CN=203.0.113.1' 2>/dev/null
             openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out server.crt -days 2 -extfile server.ext 2>/dev/null
             printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\n\
extendedKeyUsage=clientAuth\\n' > client.ext
             openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
             -subj '/CN=dave' 2>/dev/null
             openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out client.crt -days 2 -extfile client.ext 2>/dev/null
             openssl pkey -in client.key -aes128 -passout pass:{CERT_KEY_PASSPHRASE} \
             -out client-encrypted.key
             chmod 600 ca.key server.key client.key client-encrypted.key
             mkdir -p swanctl/x509 swanctl/x509ca swanctl/private
             cp server.crt swanctl/x509/ && cp server.key swanctl/private/
             cp ca.crt swanctl/x509ca/"),
        );
        let conf = format!(
            "charon {{\n  load_modular = yes\n  \
             i_dont_care_about_security_and_use_aggressive_mode_psk = yes\n  \
             plugins {{\n    include /etc/strongswan.d/charon/*.conf\n    \
             kernel-libipsec {{\n      load = yes\n    }}\n    \
             vici {{\n      socket = unix://{d}/charon.vici\n    }}\n  }}\n  \
             filelog {{\n    gw {{\n      path = {d}/charon.log\n      default = 1\n      ike = 2\n      cfg = 2\n      chd = 2\n      flush_line = yes\n    }}\n  }}\n}}\n"
        );
        std::fs::write(dir.join("strongswan.conf"), conf).unwrap();
        let swanctl = format!(
            "connections {{\n\
               psk {{\n    version = 2\n    local_addrs = {SERVER_ADDR}\n    pools = vips\n    \
                 local {{\n      auth = psk\n      id = {SERVER_ADDR}\n    }}\n    \
                 remote {{\n      auth = psk\n      id = {PSK_ID}\n    }}\n    \
                 proposals = {IKE_PROPOSAL}\n    \
                 children {{\n      net {{\n        local_ts = {CORP_NET}\n        esp_proposals = {ESP_PROPOSAL}\n      }}\n    }}\n  }}\n\
               eap {{\n    version = 2\n    local_addrs = {SERVER_ADDR}\n    pools = vips\n    \
                 local {{\n      auth = pubkey\n      certs = server.crt\n      id = {SERVER_ADDR}\n    }}\n    \
                 remote {{\n      auth = eap-md5\n      eap_id = %any\n    }}\n    \
                 proposals = {IKE_PROPOSAL}\n    \
                 children {{\n      net {{\n        local_ts = {CORP_NET}\n        esp_proposals = {ESP_PROPOSAL}\n      }}\n    }}\n  }}\n\
               cert {{\n    version = 2\n    local_addrs = {SERVER_ADDR}\n    pools = vips\n    \
                 local {{\n      auth = pubkey\n      certs = server.crt\n      id = {SERVER_ADDR}\n    }}\n    \
                 remote {{\n      auth = pubkey\n      cacerts = ca.crt\n      id = \"{CERT_CLIENT_DN}\"\n    }}\n    \
                 proposals = {IKE_PROPOSAL}\n    \
                 children {{\n      net {{\n        local_ts = {CORP_NET}\n        esp_proposals = {ESP_PROPOSAL}\n      }}\n    }}\n  }}\n\
               vpnc {{\n    version = 1\n    aggressive = yes\n    local_addrs = {SERVER_ADDR}\n    pools = vips\n    \
                 proposals = aes128-sha1-modp1024, aes256-sha1-modp1024, aes128-md5-modp1024, aes256-md5-modp1024\n    \
                 local {{\n      auth = psk\n      id = {SERVER_ADDR}\n    }}\n    \
                 remote {{\n      auth = psk\n      id = keyid:{VPNC_GROUP}\n    }}\n    \
                 remote-2 {{\n      auth = xauth\n      xauth_id = {VPNC_USER}\n    }}\n    \
                 children {{\n      net {{\n        local_ts = {CORP_NET}\n        \
                 esp_proposals = aes128-sha1, aes256-sha1, aes128-md5, aes256-md5\n      }}\n    }}\n  }}\n\
             }}\n\
             pools {{\n  vips {{\n    addrs = 10.77.0.0/24\n    dns = {CORP_DNS}\n  }}\n}}\n\
             secrets {{\n  ike-psk {{\n    id-1 = {PSK_ID}\n    id-2 = {SERVER_ADDR}\n    secret = \"{PSK}\"\n  }}\n  \
               eap-bob {{\n    id = {EAP_USER}\n    secret = \"{EAP_PASSWORD}\"\n  }}\n  \
               ike-vpnc {{\n    id-1 = keyid:{VPNC_GROUP}\n    secret = \"{VPNC_GROUP_SECRET}\"\n  }}\n  \
               xauth-carol {{\n    id = {VPNC_USER}\n    secret = \"{VPNC_PASSWORD}\"\n  }}\n  \
}}\n"
        );
        // swanctl reads the server's certificate and key from its own
        // directory layout (x509/, private/).
        std::fs::write(dir.join("swanctl/swanctl.conf"), swanctl).unwrap();
        let log = dir.join("charon.out");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", RIG_WAN_NS, CHARON_BIN])
            .env("STRONGSWAN_CONF", dir.join("strongswan.conf"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start charon in wan");
        let mut gw = StrongSwanGw {
            child: Some(child),
            ca: dir.join("ca.crt"),
            dir: dir.clone(),
            log,
        };
        let vici = dir.join("charon.vici");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !vici.exists() {
            if let Some(st) = gw.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("charon exited at start with {st}:\n{}", gw.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "charon made no vici socket:\n{}",
                gw.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let out = run(
            "/usr/bin/env",
            &[
                &format!("SWANCTL_DIR={d}/swanctl"),
                SWANCTL_BIN,
                "--load-all",
                "--noprompt",
                "--uri",
                &format!("unix://{d}/charon.vici"),
            ],
        )
        .await;
        assert!(
            out.status.success(),
            "swanctl --load-all: {out}\n{}",
            gw.log_text()
        );
        gw
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The responder's processes (charon runs under `ip netns exec`).
    pub fn pids(&self) -> Vec<u32> {
        let mut v = vec![self.pid()];
        v.extend(processes_of(CHARON_BIN).into_iter().map(|(p, _)| p));
        v
    }

    pub fn log_text(&self) -> String {
        format!(
            "----- charon (wan) -----\n{}\n{}\n----- charon-nm -----\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            std::fs::read_to_string(self.dir.join("charon.log")).unwrap_or_default(),
            std::fs::read_to_string(self.dir.join("charon-nm.log")).unwrap_or_default()
        )
    }

    /// A profile as NetworkManager-strongswan writes it (IKEv2, a virtual
    /// IP asked for, UDP encapsulation, no IPComp, default proposals).
    pub fn profile(&self, id: &str) -> VpnProfile {
        VpnProfile {
            id: id.to_owned(),
            uuid: new_uuid(),
            service_type: Some(STRONGSWAN_SERVICE.to_owned()),
            data: Default::default(),
            secrets: Default::default(),
            connection: Vec::new(),
        }
        .data("address", SERVER_ADDR)
        .data("virtual", "yes")
        .data("encap", "yes")
        .data("ipcomp", "no")
        .data("proposal", "yes")
        .data("ike", IKE_PROPOSAL)
        .data("esp", ESP_PROPOSAL)
        .data("password-flags", "0")
    }

    pub fn psk_profile(&self, id: &str) -> VpnProfile {
        self.profile(id)
            .data("method", "psk")
            .data("user", PSK_ID)
            .secret("password", PSK)
    }

    pub fn eap_profile(&self, id: &str) -> VpnProfile {
        self.profile(id)
            .data("method", "eap")
            .data("user", EAP_USER)
            .data("certificate", self.ca.to_str().unwrap())
            .secret("password", EAP_PASSWORD)
    }

    /// Certificate authentication as NetworkManager-strongswan writes it
    /// (`method=cert`, `cert-source=file`): the client certificate and its
    /// unencrypted key, made by the rig; no secret.
    pub fn cert_profile(&self, id: &str) -> VpnProfile {
        self.profile(id)
            .data("method", "cert")
            .data("cert-source", "file")
            .data("certificate", self.ca.to_str().unwrap())
            .data("usercert", self.dir.join("client.crt").to_str().unwrap())
            .data("userkey", self.dir.join("client.key").to_str().unwrap())
    }

    /// As [`cert_profile`](Self::cert_profile), with the client key
    /// encrypted (its passphrase is the `password` secret, not stored).
    pub fn cert_profile_encrypted_key(&self, id: &str) -> VpnProfile {
        self.cert_profile(id).data(
            "userkey",
            self.dir.join("client-encrypted.key").to_str().unwrap(),
        )
    }
}

impl StrongSwanGw {
    /// A NetworkManager-vpnc profile for the responder's IKEv1 XAuth
    /// connection (group secret and password stored, NAT-T forced).
    pub fn vpnc_profile(&self, id: &str) -> VpnProfile {
        VpnProfile {
            id: id.to_owned(),
            uuid: new_uuid(),
            service_type: Some(VPNC_SERVICE.to_owned()),
            data: Default::default(),
            secrets: Default::default(),
            connection: Vec::new(),
        }
        .data("IPSec gateway", SERVER_ADDR)
        .data("IPSec ID", VPNC_GROUP)
        .data("Xauth username", VPNC_USER)
        .data("IPSec secret-flags", "0")
        .data("Xauth password-flags", "0")
        .data("NAT Traversal Mode", "force-natt")
        .data("IKE DH Group", "dh2")
        .data("Perfect Forward Secrecy", "nopfs")
        .data("Vendor", "cisco")
        .secret("IPSec secret", VPNC_GROUP_SECRET)
        .secret("Xauth password", VPNC_PASSWORD)
    }
}

impl Drop for StrongSwanGw {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_text());
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_all(CHARON_BIN);
        kill_all(CHARON_NM_BIN);
        kill_all(NM_VPNC_BIN);
        kill_all(VPNC_BIN);
        let _ = std::fs::remove_file(CHARON_NM_CONF);
    }
}

/// A packet capture on an interface of rootns (tcpdump), stopped and read
/// on [`Capture::stop`].
pub struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    pub async fn start(iface: &str, file: &Path) -> Capture {
        let _ = std::fs::remove_file(file);
        let errors = file.with_extension("err");
        let child = Command::new("/usr/bin/tcpdump")
            .args([
                "-i",
                iface,
                "-n",
                "-U",
                "--immediate-mode",
                "-w",
                file.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&errors).unwrap())
            .spawn()
            .expect("tcpdump");
        // Until it says it listens.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let said = std::fs::read_to_string(&errors).unwrap_or_default();
            if said.contains("listening on") {
                break;
            }
            assert!(Instant::now() < deadline, "tcpdump does not listen: {said}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        Capture {
            child,
            file: file.to_owned(),
        }
    }

    /// Stops the capture; the packets it holds, one line each.
    pub async fn stop(mut self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
        let out = run(
            "/usr/bin/tcpdump",
            &["-r", self.file.to_str().unwrap(), "-n", "-q"],
        )
        .await;
        assert!(
            out.status.success(),
            "tcpdump -r: {out}\n{}",
            std::fs::read_to_string(self.file.with_extension("err")).unwrap_or_default()
        );
        out.stdout.lines().map(str::to_owned).collect()
    }
}
