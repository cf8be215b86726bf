use super::*;
use clap::Parser;
use std::io::Write;
use std::sync::Mutex;

/// clap reads the process environment; tests that parse hold this lock so
/// the one test that sets variables cannot leak them into the others.
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn parse(args: &[&str]) -> Cli {
    let mut all = vec!["chyron-relay"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_without_anything() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let c = Config::resolve(parse(&[]), None).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("./.data"));
    assert_eq!(c.dist_dir, PathBuf::from("./dist"));
    assert!(c.allowed_origins.is_empty());
    assert!(c.api_tokens.is_empty());
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.limits.rate_limit_burst, 40);
}

#[test]
fn flags_beat_env_beat_file() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let f = file(
        "listen = \"127.0.0.1:1111\"\ndata = \"/from-file\"\ndist = \"/dist-file\"\nhistory = 7\n\
         api_tokens = [\"t1\", \"t2\"]\nallowed_origins = [\"https://file.example\"]\n",
    );
    std::env::set_var("CHYRON_LISTEN", "127.0.0.1:2222");
    std::env::set_var("CHYRON_DATA", "/from-env");
    let cli = parse(&[
        "--config",
        f.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:3333",
    ]);
    std::env::remove_var("CHYRON_LISTEN");
    std::env::remove_var("CHYRON_DATA");
    let c = Config::resolve(cli, Some("env-token".into())).unwrap();
    assert_eq!(
        c.listen.to_string(),
        "127.0.0.1:3333",
        "flag wins over env and file"
    );
    assert_eq!(c.data_dir, PathBuf::from("/from-env"), "env wins over file");
    assert_eq!(
        c.dist_dir,
        PathBuf::from("/dist-file"),
        "file wins over default"
    );
    assert_eq!(c.limits.history, 7);
    assert_eq!(c.allowed_origins, vec!["https://file.example".to_string()]);
    assert_eq!(
        c.api_tokens,
        vec![
            ApiToken::new("env-token"),
            ApiToken::new("t1"),
            ApiToken::new("t2")
        ]
    );
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("env-token") && !shown.contains("t1\""),
        "token leaked: {shown}"
    );
}

#[test]
fn origins_list_from_flag() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cli = parse(&[
        "--allowed-origins",
        "https://a.example,http://b.example:8080",
    ]);
    let c = Config::resolve(cli, None).unwrap();
    assert_eq!(
        c.allowed_origins,
        vec!["https://a.example", "http://b.example:8080"]
    );
}

fn resolve_err(args: &[&str], toml: Option<&str>) -> String {
    let f = toml.map(file);
    let mut args: Vec<&str> = args.to_vec();
    if let Some(f) = &f {
        args.extend(["--config", f.path().to_str().unwrap()]);
    }
    Config::resolve(parse(&args), None).unwrap_err().to_string()
}

#[test]
fn malformed_input_names_the_key() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let e = resolve_err(&[], Some("lissten = \"x\"\n"));
    assert!(e.contains("unknown field `lissten`"), "{e}");
    let e = resolve_err(&[], Some("history = \"many\"\n"));
    assert!(e.contains("history") && e.contains("invalid type"), "{e}");
    let e = resolve_err(&[], Some("listen = [\n"));
    assert!(e.contains("config file"), "{e}");
    let e = resolve_err(&["--listen", "localhost"], None);
    assert!(e.contains("`listen`"), "{e}");
    let e = resolve_err(&[], Some("listen = \"300.1.1.1:80\"\n"));
    assert!(e.contains("`listen` (file"), "{e}");
    for bad in [
        "example.org",
        "https://a.example/path",
        "ftp://a.example",
        "https://",
    ] {
        let e = resolve_err(&["--allowed-origins", bad], None);
        assert!(e.contains("`allowed_origins`"), "{bad}: {e}");
    }
    let e = resolve_err(&["--public-url", "not a url"], None);
    assert!(e.contains("`public_url`"), "{e}");
    let e = resolve_err(&["--rate-limit-burst", "0"], None);
    assert!(e.contains("`rate_limit_burst`"), "{e}");
    let e = resolve_err(&[], Some("api_token = \"  \"\n"));
    assert!(e.contains("empty"), "{e}");
    let e = Config::resolve(parse(&["--config", "/nonexistent/chyron.toml"]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/chyron.toml"), "{e}");
    assert!(Cli::try_parse_from(["chyron-relay", "--history", "x"]).is_err());
}

#[test]
fn public_url_loses_trailing_slash() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let c = Config::resolve(
        parse(&["--public-url", "https://relay.example/chyron/"]),
        None,
    )
    .unwrap();
    assert_eq!(
        c.public_url.as_deref(),
        Some("https://relay.example/chyron")
    );
}

#[test]
fn matrix_bridge_from_file_flags_and_env_secrets() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let c = Config::resolve(parse(&[]), None).unwrap();
    assert!(c.matrix.is_none(), "no homeserver, no bridge");
    let f = file(
        "matrix_homeserver = \"https://matrix.example.org\"\nmatrix_user = \"@bot:example.org\"\n\
         matrix_password = \"file-pw\"\nbridge = [\"demo=#demo:example.org\"]\n\
         bridge_clear_on_kick = true\nbridge_backfill = 10\n",
    );
    let path = f.path().to_str().unwrap();
    let c = Config::resolve(parse(&["--config", path]), None).unwrap();
    let m = c.matrix.clone().unwrap();
    assert_eq!(m.homeserver, "https://matrix.example.org");
    assert_eq!(m.user.as_str(), "@bot:example.org");
    assert!(m.clear_on_kick);
    assert_eq!(m.backfill, 10);
    assert_eq!(m.rooms[0].channel, "demo");
    assert!(!format!("{c:?}").contains("file-pw"));
    // Flags win over the file; the environment's password over the file's.
    let c = Config::resolve_with(
        parse(&[
            "--config",
            path,
            "--bridge",
            "a=#a:example.org,b=!b:example.org",
            "--matrix-user",
            "@other:example.org",
        ]),
        EnvSecrets {
            matrix_password: Some("env-pw".into()),
            ..EnvSecrets::default()
        },
    )
    .unwrap();
    let m = c.matrix.unwrap();
    assert_eq!(m.user.as_str(), "@other:example.org");
    assert_eq!(m.rooms.len(), 2);
    assert_eq!(
        m.auth,
        crate::bridge::config::MatrixAuth::Password(Secret::new("env-pw".into()))
    );
    let err = Config::resolve(parse(&["--config", path, "--bridge", "demo=demo"]), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be an alias"), "{err}");
}

#[test]
fn hostile_client_limits_from_flags_env_and_file() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let c = Config::resolve(parse(&[]), None).unwrap();
    assert_eq!(c.limits.max_connections, 10_000);
    assert_eq!(c.limits.header_read_timeout_secs, 10);
    let f = file(
        "max_connections = 50\nheader_read_timeout_secs = 3\nrequest_timeout_secs = 4\n\
         anonymous_rate_limit_per_second = 5\nanonymous_rate_limit_burst = 6\n\
         channel_loads_per_minute = 7\nchannel_load_burst = 8\nmax_channels_loaded = 9\n\
         max_unsent_bytes_per_ip = 10\nmax_unsent_bytes = 11\n",
    );
    std::env::set_var("CHYRON_MAX_CHANNELS_LOADED", "90");
    let cli = parse(&[
        "--config",
        f.path().to_str().unwrap(),
        "--max-connections",
        "500",
    ]);
    std::env::remove_var("CHYRON_MAX_CHANNELS_LOADED");
    let l = Config::resolve(cli, None).unwrap().limits;
    assert_eq!(l.max_connections, 500, "flag wins");
    assert_eq!(l.max_channels_loaded, 90, "env beats file");
    assert_eq!(
        (
            l.header_read_timeout_secs,
            l.request_timeout_secs,
            l.anonymous_rate_limit_per_second,
            l.anonymous_rate_limit_burst,
            l.channel_loads_per_minute,
            l.channel_load_burst,
            l.max_unsent_bytes_per_ip,
            l.max_unsent_bytes
        ),
        (3, 4, 5, 6, 7, 8, 10, 11)
    );
    let e = resolve_err(&["--header-read-timeout-secs", "0"], None);
    assert!(e.contains("`header_read_timeout_secs`"), "{e}");
}

#[test]
fn redis_url_is_checked_and_never_printed() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(Config::resolve(parse(&[]), None).unwrap().redis, None);
    for good in ["redis://127.0.0.1:6379/0", "redis+unix:///run/redis.sock"] {
        let c = Config::resolve(parse(&["--redis", good]), None).unwrap();
        assert_eq!(c.redis, Some(RedisUrl(good.into())));
    }
    let f = file("redis = \"redis://:hunter2@10.0.0.5:6379\"\n");
    let c = Config::resolve(parse(&["--config", f.path().to_str().unwrap()]), None).unwrap();
    assert!(c.redis.is_some());
    assert!(
        !format!("{c:?}").contains("hunter2"),
        "the password stays out of logs"
    );
    for bad in [
        "localhost:6379",
        "http://127.0.0.1:6379",
        "rediss://h:6379",
        "redis://h:notaport",
    ] {
        let e = resolve_err(&["--redis", bad], None);
        assert!(e.contains("`redis` (flag or environment)"), "{bad}: {e}");
    }
    let e = resolve_err(&[], Some("redis = \"redis://:hunter2@h:x\"\n"));
    assert!(e.contains("`redis` (file") && !e.contains("hunter2"), "{e}");
}

#[test]
fn trusted_proxies_take_addresses_and_ranges_and_refuse_the_rest() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert!(Config::resolve(parse(&[]), None)
        .unwrap()
        .trusted_proxies
        .is_empty());
    let c = Config::resolve(
        parse(&["--trusted-proxies", "10.0.0.0/8,192.0.2.7, fd00::1/64"]),
        None,
    )
    .unwrap();
    let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "fd00::/64"]);
    let f = file("trusted_proxies = [\"127.0.0.1\"]\n");
    let c = Config::resolve(parse(&["--config", f.path().to_str().unwrap()]), None).unwrap();
    assert_eq!(c.trusted_proxies.len(), 1);
    for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.1:80", "*"] {
        let e = Config::resolve(parse(&["--trusted-proxies", bad]), None).unwrap_err();
        assert!(
            e.0.contains("trusted_proxies") && e.0.contains(bad),
            "{bad}: {e}"
        );
    }
}

#[test]
fn database_url_is_checked_needs_redis_and_is_never_printed() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let redis = ["--redis", "redis://127.0.0.1:6379/0"];
    assert_eq!(Config::resolve(parse(&redis), None).unwrap().database, None);
    for good in [
        "postgres://chyron:pw@127.0.0.1:5432/chyron",
        "postgresql:///postgres?host=/tmp/pg&user=postgres",
    ] {
        let c =
            Config::resolve(parse(&[&redis[..], &["--database", good]].concat()), None).unwrap();
        assert_eq!(c.database, Some(DatabaseUrl(good.into())));
    }
    let e = resolve_err(&["--database", "postgres://h/db"], None);
    assert!(
        e.contains("`database` (flag or environment) needs `redis`"),
        "{e}"
    );
    let f = file("redis = \"redis://h:6379\"\ndatabase = \"postgres://u:hunter2@h/db\"\n");
    let c = Config::resolve(parse(&["--config", f.path().to_str().unwrap()]), None).unwrap();
    assert!(c.database.is_some() && !format!("{c:?}").contains("hunter2"));
    for bad in [
        "mysql://h/db",
        "h:5432",
        "postgres://h:notaport/db",
        "postgres://h/db?sslmode=require",
    ] {
        let e = resolve_err(&[&redis[..], &["--database", bad]].concat(), None);
        assert!(
            e.contains("`database` (flag or environment): "),
            "{bad}: {e}"
        );
    }
    let e = resolve_err(&[], Some("database = \"postgres://u:hunter2@h:x/db\"\n"));
    assert!(
        e.contains("`database` (file") && !e.contains("hunter2"),
        "{e}"
    );
}
