//! The viewer's write batching (`feed/viewer.rs`): frames already queued go
//! out with one flush, up to a byte budget; a lag met while taking a batch is
//! handled after it; a steady feed still reads the client.

use super::*;
use crate::feed::viewer;
use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

/// A socket's sink that keeps what is fed and counts flushes, as the
/// websocket's buffer would.
#[derive(Clone, Default)]
struct Recorder(Arc<std::sync::Mutex<(Vec<Message>, Vec<usize>)>>);

impl Recorder {
    /// The frames written so far, and how many each flush wrote.
    fn written(&self) -> (Vec<Message>, Vec<usize>) {
        self.0.lock().unwrap().clone()
    }
}

impl futures_util::Sink<Message> for Recorder {
    type Error = std::io::Error;
    fn poll_ready(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn start_send(self: std::pin::Pin<&mut Self>, m: Message) -> Result<(), Self::Error> {
        self.0.lock().unwrap().0.push(m);
        Ok(())
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        let mut w = self.0.lock().unwrap();
        let before: usize = w.1.iter().sum();
        let now = w.0.len() - before;
        if now > 0 {
            w.1.push(now);
        }
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.poll_flush(cx)
    }
}

/// Runs a viewer subscribed before `queued` posts into a [`Recorder`] until
/// it has written `frames` frames; returns the recorder.
async fn record(rig: &Rig, queued: &[String], frames: usize) -> Recorder {
    let silent = stream::pending::<Result<Message, tungstenite::Error>>();
    record_reading(rig, queued, frames, silent).await
}

/// [`record`], the client sending what `client` yields.
async fn record_reading<R>(rig: &Rig, queued: &[String], frames: usize, client: R) -> Recorder
where
    R: futures_util::Stream<Item = Result<Message, tungstenite::Error>> + Unpin + Send + 'static,
{
    rig.hub.append("demo", post("b0")).await.unwrap(); // the full queue
    let (viewer, sub) = rig.viewer().await;
    for body in queued {
        rig.hub.append("demo", post(body)).await.unwrap();
    }
    let recorder = Recorder::default();
    tokio::spawn(serve_viewer(viewer, sub, recorder.clone(), client));
    while recorder.written().0.len() < frames {
        tokio::task::yield_now().await;
    }
    recorder
}

#[tokio::test]
async fn frames_already_queued_go_out_in_one_flush() {
    let rig = rig(64).await;
    let queued: Vec<String> = (1..=5).map(|i| format!("b{i}")).collect();
    let recorder = record(&rig, &queued, 6).await;
    let (frames, flushes) = recorder.written();
    // The snapshot, then the five queued events in one write, in order.
    assert_eq!(flushes, vec![1, 5]);
    let seqs: Vec<u64> = frames[1..]
        .iter()
        .map(|m| frame(m.clone()).event_seq().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn a_batch_stops_near_its_byte_budget() {
    let rig = rig(64).await;
    // Each frame carries a 1,000-character body: a batch holds about
    // BATCH_BYTES of them, the rest go in the next write.
    let queued: Vec<String> = (1..=40).map(|i| format!("{i:0>1000}")).collect();
    let recorder = record(&rig, &queued, 41).await;
    let (frames, flushes) = recorder.written();
    assert_eq!(flushes.iter().sum::<usize>(), 41);
    assert!(
        flushes.len() >= 3,
        "40 KB of frames in 16 KiB batches: {flushes:?}"
    );
    let first_batch: usize = frames[1..1 + flushes[1]]
        .iter()
        .map(|m| m.clone().into_text().unwrap().len())
        .sum();
    assert!(
        (BATCH_BYTES..BATCH_BYTES + 1200).contains(&first_batch),
        "{first_batch}"
    );
}

#[tokio::test]
async fn a_steady_feed_still_reads_the_client_every_few_batches() {
    let rig = rig(256).await;
    // About ten batches' worth queued, and a client frame waiting from the
    // start: it is answered before the queue is through, not after.
    let queued: Vec<String> = (1..=150).map(|i| format!("{i:0>1000}")).collect();
    let client = stream::iter([Ok(Message::Text("hi".into()))]).chain(stream::pending());
    let recorder = record_reading(&rig, &queued, 152, Box::pin(client)).await;
    let (frames, _) = recorder.written();
    let at = frames
        .iter()
        .position(|m| matches!(frame(m.clone()), ServerFrame::Error { .. }))
        .unwrap();
    let batches = (at as f64 / (BATCH_BYTES as f64 / 1100.0)).ceil() as u32;
    assert!(
        at < 151 && batches <= viewer::LIVE_BEFORE_READ + 1,
        "read_only at frame {at}"
    );
}

#[test]
fn a_lag_met_while_taking_a_batch_is_reported_after_its_frames() {
    let (tx, mut rx) = tokio::sync::broadcast::channel::<Utf8Bytes>(2);
    tx.send("1".into()).unwrap();
    let first = rx.try_recv().unwrap();
    // Three more into two slots while this viewer was busy: "2" is gone.
    for f in ["2", "3", "4"] {
        tx.send(f.into()).unwrap();
    }
    let (batch, broke) = viewer::ready_after(first, &mut rx);
    assert_eq!(batch, vec![Utf8Bytes::from("1")]);
    assert!(matches!(broke, Some(RecvError::Lagged(1))), "{broke:?}");
    // A closed queue (the channel's queue grew) is reported the same way.
    let (tx, mut rx) = tokio::sync::broadcast::channel::<Utf8Bytes>(4);
    tx.send("5".into()).unwrap();
    drop(tx);
    let (batch, broke) = viewer::ready_after("4".into(), &mut rx);
    assert_eq!(batch.len(), 2);
    assert!(matches!(broke, Some(RecvError::Closed)));
}
