//! A local port-forward to a pod through the API server, as `kubectl port-forward` does: a
//! listener on 127.0.0.1 whose every accepted connection gets its own port-forward stream.
//!
//! kube's `Portforwarder` gives one byte stream per WebSocket and does not listen; the driver
//! may open several connections to the App Server (and reconnect), so each accepted
//! connection opens a WebSocket of its own.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::CloudError;

/// A running forward; dropping it stops the listener and every forwarded connection.
pub struct Forward {
    /// Where the driver connects.
    pub local: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        // The accept task owns the connections' JoinSet, which aborts them when dropped.
        self.accept.abort();
    }
}

/// Listens on 127.0.0.1 (an ephemeral port) and forwards each connection to `port` of `pod`.
pub async fn start(pods: Api<Pod>, pod: String, port: u16) -> Result<Forward, CloudError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| {
            CloudError::Io(format!(
                "binding 127.0.0.1 for a port-forward to pod `{pod}`: {e}"
            ))
        })?;
    let local = listener.local_addr().map_err(|e| {
        CloudError::Io(format!(
            "the port-forward listener for pod `{pod}` has no address: {e}"
        ))
    })?;
    let accept = tokio::spawn(accept_loop(listener, pods, pod, port));
    Ok(Forward { local, accept })
}

async fn accept_loop(listener: TcpListener, pods: Api<Pod>, pod: String, port: u16) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => {
                    connections.spawn(forward_one(pods.clone(), pod.clone(), port, conn));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, pod, "port-forward accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Aborts kube's forwarding task when the connection's task ends or is aborted.
struct AbortOnDrop(kube::api::Portforwarder);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn forward_one(pods: Api<Pod>, pod: String, port: u16, mut conn: TcpStream) {
    let mut forwarder = match pods.portforward(&pod, &[port]).await {
        Ok(f) => AbortOnDrop(f),
        Err(error) => {
            // The client sees its connection closed; the reason is only here.
            tracing::warn!(%error, pod, port, "port-forward to the pod failed");
            return;
        }
    };
    let Some(mut upstream) = forwarder.0.take_stream(port) else {
        return;
    };
    let pod_error = forwarder.0.take_error(port);
    if let Err(error) = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await {
        tracing::debug!(%error, pod, port, "port-forwarded connection ended");
    }
    if let Some(pod_error) = pod_error {
        // Set when the kubelet could not connect to the port (nothing listening, pod gone).
        if let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(50), pod_error).await
        {
            tracing::warn!(
                message,
                pod,
                port,
                "the API server reported a port-forward error"
            );
        }
    }
}
