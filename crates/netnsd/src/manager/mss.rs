//! MSS clamping on devices (SetMssClamping): the list of clamped devices of
//! each namespace, its table (crate::mss) and its journal record.

use std::collections::BTreeSet;

use netnsd_api::Error;

use super::Manager;
use crate::record::Entry;

impl Manager {
    /// Turns MSS clamping of SYNs forwarded out of `device` (in namespace
    /// `ns`) on or off.
    pub(super) async fn set_mss_clamp(
        &mut self,
        ns: u32,
        device: u32,
        on: bool,
    ) -> Result<(), Error> {
        let ifname = self
            .devices
            .get(device)
            .filter(|d| d.ns == ns && !d.in_transit)
            .map(|d| d.link.name.clone())
            .ok_or_else(|| {
                Error::UnknownDevice(format!("no device {}", netnsd_api::device_path(device)))
            })?;
        let mut list = self.mss.get(&ns).cloned().unwrap_or_default();
        let changed = if on {
            list.insert(ifname)
        } else {
            list.remove(&ifname)
        };
        if changed {
            self.declare_mss(ns, list).await?;
        }
        Ok(())
    }

    /// Drops a device that left namespace `ns` (deleted or moved) from its
    /// clamp list: the clamp follows the device's name there, and a later
    /// device of that name is not to inherit it.
    pub(super) async fn mss_device_gone(&mut self, ns: u32, ifname: &str) {
        let Some(mut list) = self.mss.get(&ns).cloned() else {
            return;
        };
        if list.remove(ifname)
            && let Err(e) = self.declare_mss(ns, list).await
        {
            tracing::warn!(
                ns,
                ifname,
                "could not drop the MSS clamp of a device that left: {e}"
            );
        }
    }

    /// Records `list` as namespace `ns`'s clamped devices and makes its table
    /// hold exactly them; on failure the record goes back to what it was.
    async fn declare_mss(&mut self, ns: u32, list: BTreeSet<String>) -> Result<(), Error> {
        let n = self
            .namespaces
            .by_number(ns)
            .ok_or_else(|| Error::NotFound(format!("no namespace {ns}")))?;
        let ifnames: Vec<String> = list.iter().cloned().collect();
        self.record(Entry::MssClamp {
            ns: n.name.clone(),
            ifnames: ifnames.clone(),
        })?;
        let file = self.netns_file_for_tools(&n)?;
        let batch = crate::mss::declare_batch(&ifnames);
        let applied =
            tokio::task::spawn_blocking(move || crate::firewall::apply(&batch, file.as_ref()))
                .await
                .map_err(|e| Error::Failed(format!("nft: {e}")))
                .and_then(|r| r);
        if let Err(e) = applied {
            let old: Vec<String> = self.mss.get(&ns).into_iter().flatten().cloned().collect();
            let _ = self.record(Entry::MssClamp {
                ns: n.name.clone(),
                ifnames: old,
            });
            return Err(Error::Failed(format!(
                "MSS clamping in namespace {:?} (table inet {}): {e}",
                n.name,
                crate::mss::TABLE
            )));
        }
        if list.is_empty() {
            self.mss.remove(&ns);
        } else {
            self.mss.insert(ns, list);
        }
        Ok(())
    }
}
