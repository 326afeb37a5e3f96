//! AddForward, RemoveForward, GetForwards: port forwards from the host (the
//! namespace's uplink namespace) into this namespace.

use netnsd_api::forward::Forward;
use netnsd_api::{Error, ROOT_NS_NAME, actions};
use zbus::message::Header;

use super::{Dict, NetNsInstance};
use crate::manager::{ForwardOp, ForwardReply};
use crate::record::UplinkRecord;

impl NetNsInstance {
    /// A forward opens a port of the uplink namespace: `configure-host` when
    /// that is rootns (the host's own ports), `configure` otherwise.
    fn forward_action(&self) -> &'static str {
        let via_host = matches!(
            self.manager.registry.uplinks.read().get(&self.ns.number),
            Some(UplinkRecord::Veth { uplink_ns, .. }) if uplink_ns == ROOT_NS_NAME
        );
        if via_host || self.ns.number == 0 {
            actions::CONFIGURE_HOST
        } else {
            actions::CONFIGURE
        }
    }

    pub(super) async fn do_add_forward(
        &self,
        options: &Dict,
        hdr: &Header<'_>,
    ) -> Result<u32, Error> {
        let f = Forward::from_dict(options)?;
        self.auth.check(hdr, self.forward_action()).await?;
        match self
            .manager
            .forward(self.ns.number, ForwardOp::Add(f))
            .await?
        {
            ForwardReply::Added(id) => Ok(id),
            _ => Err(Error::Failed("unexpected reply from the manager".into())),
        }
    }

    pub(super) async fn do_remove_forward(&self, id: u32, hdr: &Header<'_>) -> Result<(), Error> {
        self.auth.check(hdr, self.forward_action()).await?;
        self.manager
            .forward(self.ns.number, ForwardOp::Remove(id))
            .await
            .map(|_| ())
    }

    pub(super) async fn do_get_forwards(&self) -> Result<Vec<Dict>, Error> {
        match self
            .manager
            .forward(self.ns.number, ForwardOp::List)
            .await?
        {
            ForwardReply::List(l) => Ok(l.iter().map(|e| e.to_dict()).collect()),
            _ => Err(Error::Failed("unexpected reply from the manager".into())),
        }
    }
}
