use super::*;

fn silence(user: &str) -> MatrixTask {
    MatrixTask::Silence {
        channel: "demo".into(),
        user_id: user.into(),
    }
}

#[tokio::test]
async fn tasks_come_out_oldest_first_and_finish_once() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Tasks::new(Store::open(dir.path()).unwrap(), None);
    assert_eq!(tasks.next().await, None);
    let a = tasks.enqueue(silence("@a:hs")).await.unwrap();
    let b = tasks
        .enqueue(MatrixTask::ModLog {
            owner: "@dj:hs".into(),
            line: "ann timed out bob".into(),
        })
        .await
        .unwrap();
    assert!(b > a);
    assert_eq!(tasks.next().await, Some((a, silence("@a:hs"))));
    // Not finished: still first.
    assert_eq!(tasks.next().await.map(|t| t.0), Some(a));
    tasks.finish(a, Outcome::Done).await;
    assert_eq!(tasks.next().await.map(|t| t.0), Some(b));
    tasks.finish(b, Outcome::Failed("no power".into())).await;
    assert_eq!(tasks.next().await, None);
    assert_eq!(tasks.outcome(a).await, Some(Outcome::Done));
    assert_eq!(
        tasks.outcome(b).await,
        Some(Outcome::Failed("no power".into()))
    );
}

#[tokio::test]
async fn enqueue_wakes_the_executor_even_if_it_was_busy() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Tasks::new(Store::open(dir.path()).unwrap(), None);
    tasks.enqueue(silence("@a:hs")).await.unwrap();
    // Nobody was waiting: the wake-up is kept for the next wait.
    tokio::time::timeout(Duration::from_secs(5), tasks.queued())
        .await
        .expect("woken");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), tasks.queued())
            .await
            .is_err(),
        "one wake-up per enqueue"
    );
}

#[tokio::test]
async fn wait_returns_when_finished_or_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = Tasks::new(Store::open(dir.path()).unwrap(), None);
    let a = tasks.enqueue(silence("@a:hs")).await.unwrap();
    let b = tasks.enqueue(silence("@b:hs")).await.unwrap();
    assert_eq!(tasks.wait(a, Duration::from_millis(30)).await, None);
    let executor = tasks.clone();
    let run = tokio::spawn(async move {
        // Another task finishing first must not end the wait for `b`.
        let (id, _) = executor.next().await.unwrap();
        executor.finish(id, Outcome::Done).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (id, _) = executor.next().await.unwrap();
        executor.finish(id, Outcome::NotBridged).await;
    });
    let got = tasks.wait(b, Duration::from_secs(10)).await;
    assert_eq!(got, Some(Outcome::NotBridged));
    run.await.unwrap();
    // Already finished: answered at once; unknown ids wait out the deadline.
    assert_eq!(
        tasks.wait(a, Duration::from_millis(1)).await,
        Some(Outcome::Done)
    );
    assert_eq!(tasks.wait(999, Duration::from_millis(1)).await, None);
}

#[tokio::test]
async fn the_queue_survives_a_reopen_and_skips_unreadable_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = {
        let store = Store::open(dir.path()).unwrap();
        let tasks = Tasks::new(store.clone(), None);
        let a = tasks.enqueue(silence("@a:hs")).await.unwrap();
        tasks.finish(a, Outcome::Done).await;
        store
            .call(|c| {
                c.execute(
                    "INSERT INTO mod_tasks (task, created) VALUES ('{\"kind\":\"nuke\"}', strftime('%s', 'now') * 1000)",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let ban = MatrixTask::Ban {
            channel: "demo".into(),
            user_id: "@b:hs".into(),
            reason: Some("spam".into()),
        };
        (a, tasks.enqueue(ban).await.unwrap())
    };
    let tasks = Tasks::new(Store::open(dir.path()).unwrap(), None);
    assert_eq!(tasks.outcome(a).await, Some(Outcome::Done));
    let (id, task) = tasks.next().await.unwrap();
    assert_eq!(id, b);
    assert!(matches!(task, MatrixTask::Ban { reason: Some(r), .. } if r == "spam"));
    let skipped = tasks.outcome(b - 1).await;
    assert!(
        matches!(&skipped, Some(Outcome::Failed(why)) if why.starts_with("unreadable task")),
        "{skipped:?}"
    );
}

#[test]
fn tasks_and_outcomes_have_a_stable_json_form() {
    let task = MatrixTask::ModRoom {
        owner: "@dj:hs".into(),
        user_id: "@m:hs".into(),
        member: true,
    };
    assert_eq!(
        serde_json::to_string(&task).unwrap(),
        r#"{"kind":"mod_room","owner":"@dj:hs","user_id":"@m:hs","member":true}"#
    );
    let failed = Outcome::Failed("why".into());
    assert_eq!(
        serde_json::to_string(&failed).unwrap(),
        r#"{"outcome":"failed","detail":"why"}"#
    );
    assert_eq!(
        serde_json::to_string(&Outcome::NotBridged).unwrap(),
        r#"{"outcome":"not_bridged"}"#
    );
}
