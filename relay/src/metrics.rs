//! Prometheus metrics, served as text at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// One label, e.g. `("kind", "message")`.
type Label = Vec<(&'static str, &'static str)>;

/// The relay's metrics. Handles are cheap clones sharing one value.
pub struct Metrics {
    /// Every metric below, for encoding.
    registry: Registry,
    /// Feed websockets open now: the audience size.
    pub viewers: Gauge,
    /// Frames written to viewers: fan-out load.
    pub frames_sent: Counter,
    /// Events appended, by kind: chat activity.
    pub events: Family<Label, Counter>,
    /// HTTP responses by status class (`2xx`…): errors and abuse show here.
    pub http_requests: Family<Label, Counter>,
    /// Viewers resynced because they fell behind: a sign of slow clients.
    pub lagged_resyncs: Counter,
    /// Feed connections refused before upgrade, by reason.
    pub rejected_connections: Family<Label, Counter>,
    /// 1 while the Matrix bridge is synced, else 0: alert on it.
    pub bridge_up: Gauge,
    /// Changes waiting to be sent to Matrix: grows during an outage.
    pub outbox: Gauge,
    /// Clustered mode: 1 while this node holds the bridge lease (runs the
    /// Matrix link); the cluster's sum is 1 while one node bridges, 0 when
    /// none does (Redis unreachable): alert on that.
    pub bridge_lease: Gauge,
    /// Channels held in memory: those in use, and idle ones until swept.
    pub channels_loaded: Gauge,
    /// Requests, connections and feeds refused or closed by a limit against
    /// hostile clients, by reason: an attack shows here.
    pub refused: Family<Label, Counter>,
    /// TCP connections open now (HTTP and upgraded): against `max_connections`.
    pub connections: Gauge,
    /// Bytes of frames being written to feed sockets now (bounded per client
    /// address by `max_unsent_bytes_per_ip`).
    pub unsent_bytes: Gauge,
    /// The PostgreSQL writer's figures (`--database`), by `what`: rows
    /// `queued` now, `written`, insert `failures`, rows `overflowed` past
    /// the backlog's bound, events `missed` for good: alert on the last.
    pub durable: Family<Label, Gauge>,
    /// Clustered mode: the whole cluster's figures, summed from every live
    /// node's report at each scrape, by `what` (`nodes`, `viewers`,
    /// `channels_loaded`, `connections`, `frames_sent`).
    pub cluster: Family<Label, Gauge>,
    /// Clustered mode: 1, labelled with this node's id (as the cluster's
    /// reports name it).
    pub node: Family<Vec<(&'static str, String)>, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("chyron");
        let viewers = Gauge::default();
        let frames_sent = Counter::default();
        let events = Family::<Label, Counter>::default();
        let http_requests = Family::<Label, Counter>::default();
        let lagged_resyncs = Counter::default();
        let rejected_connections = Family::<Label, Counter>::default();
        let bridge_up = Gauge::default();
        let outbox = Gauge::default();
        let bridge_lease = Gauge::default();
        registry.register(
            "bridge_lease",
            "1 while this node holds the Matrix bridge lease (clustered mode)",
            bridge_lease.clone(),
        );
        let channels_loaded = Gauge::default();
        let refused = Family::<Label, Counter>::default();
        let connections = Gauge::default();
        let unsent_bytes = Gauge::default();
        let durable = Family::<Label, Gauge>::default();
        let cluster = Family::<Label, Gauge>::default();
        let node = Family::<Vec<(&'static str, String)>, Gauge>::default();
        registry.register(
            "cluster",
            "Clustered mode: the cluster's figures summed over live nodes, by what",
            cluster.clone(),
        );
        registry.register("node", "Clustered mode: this node's id", node.clone());
        registry.register(
            "durable",
            "PostgreSQL write-behind, by what: queued, written, failures, overflowed, missed",
            durable.clone(),
        );
        registry.register(
            "unsent_bytes",
            "Bytes of frames being written to feed sockets",
            unsent_bytes.clone(),
        );
        registry.register(
            "refused",
            "Requests, connections and feeds refused or closed by a limit, by reason",
            refused.clone(),
        );
        registry.register("connections", "TCP connections open", connections.clone());
        registry.register("viewers", "Feed websockets connected", viewers.clone());
        registry.register("frames_sent", "Frames sent to viewers", frames_sent.clone());
        registry.register("events", "Events appended, by kind", events.clone());
        registry.register(
            "http_requests",
            "HTTP responses by status class",
            http_requests.clone(),
        );
        registry.register(
            "lagged_resyncs",
            "Viewers resynced after lagging",
            lagged_resyncs.clone(),
        );
        registry.register(
            "rejected_connections",
            "Feed connections refused before upgrade",
            rejected_connections.clone(),
        );
        registry.register(
            "bridge_up",
            "1 while the Matrix bridge is synced",
            bridge_up.clone(),
        );
        registry.register(
            "matrix_outbox",
            "Changes waiting to be sent to Matrix",
            outbox.clone(),
        );
        registry.register(
            "channels_loaded",
            "Channels held in memory (in use, or idle until swept)",
            channels_loaded.clone(),
        );
        Metrics {
            registry,
            bridge_up,
            outbox,
            bridge_lease,
            channels_loaded,
            refused,
            connections,
            unsent_bytes,
            durable,
            cluster,
            node,
            viewers,
            frames_sent,
            events,
            http_requests,
            lagged_resyncs,
            rejected_connections,
        }
    }
}

impl Metrics {
    /// Counts one appended event of `kind`.
    pub fn event(&self, kind: &'static str) {
        self.events.get_or_create(&vec![("kind", kind)]).inc();
    }

    /// Records the Matrix link's state.
    pub fn bridge_state(&self, state: chyron_protocol::BridgeState) {
        let up = state == chyron_protocol::BridgeState::Live;
        self.bridge_up.set(i64::from(up));
    }

    /// Counts one refused feed connection.
    pub fn rejected(&self, reason: &'static str) {
        self.rejected_connections
            .get_or_create(&vec![("reason", reason)])
            .inc();
    }

    /// Counts one refusal by a limit against hostile clients.
    pub fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// Counts one HTTP response by its status class.
    pub fn http(&self, status: u16) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests
            .get_or_create(&vec![("class", class)])
            .inc();
    }

    /// Takes the PostgreSQL writer's figures (before encoding).
    pub fn durable(&self, s: crate::durable::Stats) {
        for (what, n) in [
            ("queued", s.queued as u64),
            ("written", s.written),
            ("failures", s.failures),
            ("overflowed", s.overflowed),
            ("missed", s.missed),
        ] {
            let gauge = self.durable.get_or_create(&vec![("what", what)]);
            gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Takes the cluster's live node reports (before encoding).
    pub fn cluster(&self, nodes: &[(String, crate::cluster::nodes::NodeReport)]) {
        let sum = |f: fn(&crate::cluster::nodes::NodeReport) -> i64| {
            nodes.iter().map(|(_, r)| f(r)).sum()
        };
        for (what, n) in [
            ("nodes", nodes.len() as i64),
            ("viewers", sum(|r| r.viewers)),
            ("channels_loaded", sum(|r| r.channels_loaded)),
            ("connections", sum(|r| r.connections)),
            (
                "frames_sent",
                sum(|r| i64::try_from(r.frames_sent).unwrap_or(i64::MAX)),
            ),
        ] {
            self.cluster.get_or_create(&vec![("what", what)]).set(n);
        }
    }

    /// This node's figures, as it reports them to the cluster.
    pub fn report(&self) -> crate::cluster::nodes::NodeReport {
        crate::cluster::nodes::NodeReport {
            viewers: self.viewers.get(),
            channels_loaded: self.channels_loaded.get(),
            connections: self.connections.get(),
            frames_sent: self.frames_sent.get(),
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_counters_with_labels() {
        let m = super::Metrics::default();
        m.event("message");
        m.http(404);
        m.viewers.inc();
        let text = m.encode();
        assert!(
            text.contains("chyron_events_total{kind=\"message\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("chyron_http_requests_total{class=\"4xx\"} 1"),
            "{text}"
        );
        assert!(text.contains("chyron_viewers 1"), "{text}");
    }
}
