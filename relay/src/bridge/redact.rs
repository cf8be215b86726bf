//! Whether a Matrix redaction may delete its target line: only if the
//! homeserver would apply it (its sender sent the original, or has at least
//! the room's `redact` power level). A redaction event reaches the sync
//! whoever sent it (from another homeserver, or a buggy one); the bridge
//! decides with the room's power levels from matrix-sdk's state.

use matrix_sdk::ruma::events::room::power_levels::RoomPowerLevels;
use matrix_sdk::ruma::UserId;

/// Whether the homeserver would apply `redactor`'s redaction of a message
/// sent by `original_sender` (a user id, as stored with the feed message):
/// anyone may redact their own messages; someone else's needs a power level
/// at least the room's `redact` level in `levels` (`None`: the room's power
/// levels are unknown, so only their own).
pub fn may_redact(
    redactor: &UserId,
    original_sender: &str,
    levels: Option<&RoomPowerLevels>,
) -> bool {
    redactor.as_str() == original_sender
        || levels.is_some_and(|l| l.user_can_redact_event_of_other(redactor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::events::room::power_levels::RoomPowerLevelsEventContent;
    use matrix_sdk::ruma::room_version_rules::AuthorizationRules;
    use matrix_sdk::ruma::OwnedUserId;
    use serde_json::json;

    fn user(id: &str) -> OwnedUserId {
        OwnedUserId::try_from(id).unwrap()
    }

    #[test]
    fn redactions_need_the_original_sender_or_the_redact_power() {
        // alice made the room (version 12: unlimited power), mod has 50, the
        // room's redact level is 50; bob and carol have the default 0.
        let content: RoomPowerLevelsEventContent = serde_json::from_value(json!({
            "users": {"@mod:localhost": 50}, "redact": 50,
        }))
        .unwrap();
        let levels = RoomPowerLevels::new(
            content.into(),
            &AuthorizationRules::V12,
            [user("@alice:localhost")],
        );
        let levels = Some(&levels);
        let (bob, carol) = (user("@bob:localhost"), user("@carol:localhost"));
        assert!(may_redact(&bob, "@bob:localhost", levels), "own message");
        assert!(!may_redact(&carol, "@bob:localhost", levels), "no power");
        assert!(may_redact(
            &user("@mod:localhost"),
            "@bob:localhost",
            levels
        ));
        assert!(may_redact(
            &user("@alice:localhost"),
            "@bob:localhost",
            levels
        ));
        // A message posted through the relay (its sender is not a Matrix user).
        assert!(!may_redact(&carol, "webhook:ci", levels));
        // Unknown power levels: only one's own.
        assert!(may_redact(&bob, "@bob:localhost", None));
        assert!(!may_redact(&user("@mod:localhost"), "@bob:localhost", None));
    }
}
