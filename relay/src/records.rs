//! Where the records an operator makes through the Chat API are kept: the
//! relay's SQLite when it runs alone, Redis in clustered mode, so that every
//! node agrees ([`crate::cluster::records`]). Webhooks here; the live marks
//! in [`crate::live`], the bridged rooms in [`crate::directory`].

use crate::cluster::records::HookRecord;
use crate::cluster::ClusterError;
use crate::error::ApiError;
use crate::store::{self, StoreError, Webhook};
use crate::AppState;

fn store_err(e: StoreError) -> ApiError {
    ApiError::internal("webhook store", e)
}

/// Redis failures as the API answers them: `503` with `Retry-After` while
/// it is unreachable (nothing was changed), `500` for data it did not write.
pub fn cluster_err(e: ClusterError) -> ApiError {
    match e {
        ClusterError::Unavailable(why) => {
            tracing::warn!("redis unavailable: {why}");
            ApiError::unavailable(
                "the cluster's Redis cannot be reached; nothing was changed; retry in a moment",
                crate::api::RETRY_AFTER_SECS,
            )
        }
        other => ApiError::internal("redis records", other),
    }
}

fn to_record(w: &Webhook) -> HookRecord {
    HookRecord {
        id: w.id.clone(),
        channel: w.channel.clone(),
        name: w.name.clone(),
        secret_sha256: hex::encode(w.secret_sha256),
        created_at: w.created_at,
        revoked: w.revoked,
    }
}

fn from_record(r: HookRecord) -> Result<Webhook, ApiError> {
    let mut secret_sha256 = [0u8; 32];
    hex::decode_to_slice(&r.secret_sha256, &mut secret_sha256)
        .map_err(|e| ApiError::internal("webhook record in redis", e))?;
    Ok(Webhook {
        id: r.id,
        channel: r.channel,
        name: r.name,
        secret_sha256,
        created_at: r.created_at,
        revoked: r.revoked,
    })
}

/// Stores a new webhook.
pub async fn insert_webhook(state: &AppState, hook: Webhook) -> Result<(), ApiError> {
    match &state.cluster {
        None => state
            .hub
            .store()
            .call(move |c| store::insert_webhook(c, &hook))
            .await
            .map_err(store_err),
        Some(cluster) => match cluster.insert_hook(&to_record(&hook)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::internal(
                "webhook id",
                "taken (random ids collided)",
            )),
            Err(e) => Err(cluster_err(e)),
        },
    }
}

/// One webhook by id, revoked or not.
pub async fn get_webhook(state: &AppState, id: String) -> Result<Option<Webhook>, ApiError> {
    match &state.cluster {
        None => state
            .hub
            .store()
            .call(move |c| store::get_webhook(c, &id))
            .await
            .map_err(store_err),
        Some(cluster) => {
            let record = cluster.hook(&id).await.map_err(cluster_err)?;
            record.map(from_record).transpose()
        }
    }
}

/// The channel's live webhooks, oldest first.
pub async fn list_webhooks(state: &AppState, channel: String) -> Result<Vec<Webhook>, ApiError> {
    match &state.cluster {
        None => state
            .hub
            .store()
            .call(move |c| store::list_webhooks(c, &channel))
            .await
            .map_err(store_err),
        Some(cluster) => {
            let records = cluster.hooks(&channel).await.map_err(cluster_err)?;
            records.into_iter().map(from_record).collect()
        }
    }
}

/// Revokes a live webhook of the channel; `false` if there is none.
pub async fn revoke_webhook(
    state: &AppState,
    channel: String,
    id: String,
) -> Result<bool, ApiError> {
    match &state.cluster {
        None => state
            .hub
            .store()
            .call(move |c| store::revoke_webhook(c, &channel, &id))
            .await
            .map_err(store_err),
        Some(cluster) => cluster
            .revoke_hook(&channel, &id)
            .await
            .map_err(cluster_err),
    }
}
