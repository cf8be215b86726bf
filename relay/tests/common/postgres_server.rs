//! A throwaway PostgreSQL for the durable-history tests, started and stopped
//! by `scripts/postgres.sh` (its own cluster and unix socket in a temporary
//! directory, no TCP, fsync on, stopped by its PID).

use super::service::Service;

/// A running PostgreSQL; stopped when dropped (its files go with it).
pub struct Postgres {
    /// The server and its directory.
    service: Service,
    /// The relay's `--database` URL for it.
    pub url: String,
}

impl Postgres {
    /// Starts one on a new cluster.
    pub fn start() -> Postgres {
        let (service, url) = Service::start("postgres", Vec::new());
        Postgres { service, url }
    }

    /// Stops it (fast shutdown, by its PID); its data stays.
    pub fn stop(&self) {
        self.service.run("stop");
    }

    /// Starts it again on the same data, at the same URL.
    pub fn restart(&self) {
        assert_eq!(self.service.run("start"), self.url);
    }

    /// A connection of its own, for counting what the relays wrote.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }
}
