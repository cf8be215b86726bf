//! A throwaway redis-server for the cluster tests, started and stopped by
//! `scripts/redis.sh` (unix socket in a temporary directory, no
//! persistence unless asked, stopped by its PID).

use super::service::Service;

/// A running redis-server; stopped when dropped.
pub struct Redis {
    /// The server and its directory.
    service: Service,
    /// The relay's `--redis` URL for it.
    pub url: String,
}

impl Redis {
    /// Starts one.
    pub fn start() -> Redis {
        Redis::start_persistent(None)
    }

    /// Starts one that keeps an append-only file with this `appendfsync`
    /// (`always`, `everysec`), or nothing (`None`).
    pub fn start_persistent(appendfsync: Option<&'static str>) -> Redis {
        let env = vec![("REDIS_APPENDFSYNC", appendfsync.unwrap_or("").to_string())];
        let (service, url) = Service::start("redis", env);
        Redis { service, url }
    }

    /// Stops it (by its PID); without persistence its data is gone.
    pub fn stop(&self) {
        self.service.run("stop");
    }

    /// Starts it again at the same URL: empty, or from its append-only file.
    pub fn restart(&self) {
        assert_eq!(self.service.run("start"), self.url);
    }

    /// Kills it with SIGKILL (no shutdown, no last fsync) and waits until
    /// it is gone.
    pub fn kill9(&self) {
        let pidfile = self.service.dir.path().join("redis.pid");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        super::kill9(pid.trim().parse().unwrap());
        let _ = std::fs::remove_file(pidfile);
    }

    /// A connection of its own, for looking at and breaking Redis's state.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}
