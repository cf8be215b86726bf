//! The chat directory's settings: defaults and hostile values.

use super::*;

fn input() -> ChatInput {
    ChatInput {
        public_channels: None,
        public_homeserver: None,
        channels: BTreeMap::new(),
        admins: None,
    }
}

fn table(toml_text: &str) -> BTreeMap<String, ChannelFile> {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn the_bridged_channels_are_public_by_default() {
    let chat = resolve(input()).unwrap();
    assert!(chat.public_channels.is_empty());
    let pairs = vec!["demo=#demo:hs".into(), "dj=#dj:hs".into()];
    let matrix = crate::bridge::config::resolve(crate::bridge::config::MatrixInput {
        homeserver: Some("http://hs".into()),
        user: Some("@bot:hs".into()),
        password: Some(crate::bridge::config::Secret::new("pw".into())),
        pairs,
        ..Default::default()
    });
    let matrix = matrix.unwrap();
    assert_eq!(chat.public(matrix.as_ref()), ["demo", "dj"]);
    assert!(chat.public(None).is_empty());
    assert!(chat.channels.is_empty());
}

#[test]
fn a_listed_order_wins_and_repeats_collapse() {
    let mut i = input();
    i.public_channels = Some(vec!["dj".into(), " demo ".into(), "dj".into(), "".into()]);
    let chat = resolve(i).unwrap();
    assert_eq!(chat.public_channels, ["dj", "demo"]);
    assert_eq!(chat.public(None), ["dj", "demo"]);
}

#[test]
fn rules_get_a_version_that_follows_the_text() {
    let mut i = input();
    i.channels = table("[demo]\ntitle = 'Main stage'\nrules = 'Be kind.'\nrules_required = true\n");
    let chat = resolve(i).unwrap();
    let meta = &chat.channels["demo"];
    assert_eq!(meta.title.as_deref(), Some("Main stage"));
    let rules = meta.rules.as_ref().unwrap();
    assert!(rules.required);
    assert_eq!(rules.version.len(), 16);
    assert_eq!(rules.version, rules_version("Be kind."));
    assert_ne!(rules.version, rules_version("Be kind!"));
}

#[test]
fn hostile_values_are_refused_with_the_reason() {
    let cases = [
        ("[demo]\nrules_required = true\n", "no `rules`"),
        ("[demo]\ntitle = '   '\n", "`title` is empty"),
        ("[demo]\ntitle = \"a\\u0007b\"\n", "control character"),
        ("['bad name!']\ntitle = 'x'\n", "channels.bad name!"),
        ("[demo]\nlogo = 'x'\n", "unknown field"),
    ];
    for (text, why) in cases {
        let parsed: Result<BTreeMap<String, ChannelFile>, _> = toml::from_str(text);
        let message = match parsed {
            Err(e) => e.to_string(),
            Ok(channels) => {
                let mut i = input();
                i.channels = channels;
                resolve(i).unwrap_err().0
            }
        };
        assert!(message.contains(why), "{text:?}: {message}");
    }
    let mut long = input();
    long.channels = table(&format!("[demo]\ntitle = '{}'\n", "x".repeat(81)));
    assert!(resolve(long).unwrap_err().0.contains("80 characters"));
    let mut huge = input();
    huge.channels = table(&format!("[demo]\nrules = '{}'\n", "x".repeat(4001)));
    assert!(resolve(huge).unwrap_err().0.contains("4000 bytes"));
    let mut url = input();
    url.public_homeserver = Some("javascript:alert(1)".into());
    assert!(resolve(url)
        .unwrap_err()
        .0
        .contains("matrix_public_homeserver"));
    let mut name = input();
    name.public_channels = Some(vec!["../etc".into()]);
    assert!(resolve(name).unwrap_err().0.contains("public_channels"));
}

#[test]
fn owners_admins_and_image_defaults_are_checked() {
    let table: ChannelFile = toml::from_str(
        "owners = [\"@dj:hs\", \" \", \"@dj:hs\", \"@ben:hs\"]\nunmarked_images = \"blur\"\n\
         moderation_notices = true",
    )
    .unwrap();
    let mut i = input();
    i.channels.insert("live".into(), table);
    i.admins = Some(vec!["@root:hs".into()]);
    let c = resolve(i).unwrap();
    let meta = &c.channels["live"];
    assert_eq!(meta.owners, ["@dj:hs", "@ben:hs"]);
    assert!(meta.blur_unmarked && meta.moderation_notices);
    assert_eq!(c.admins, ["@root:hs"]);
    for (toml, says) in [
        ("owners = [\"dj\"]", "`owners`"),
        ("owners = [\"@d\u{202e}j:hs\"]", "`owners`"),
        ("unmarked_images = \"hide\"", "`unmarked_images`"),
    ] {
        let mut i = input();
        i.channels
            .insert("live".into(), toml::from_str(toml).unwrap());
        let e = resolve(i).unwrap_err();
        assert!(e.0.contains(says) && e.0.contains("[channels.live]"), "{e}");
    }
    let mut i = input();
    i.admins = Some(vec!["root".into()]);
    assert!(resolve(i).unwrap_err().0.contains("`admins`"));
}
