//! `Sandbox::timeline`: each task's acceptance and end, and every status query answered, in
//! both APIs (what the apply benchmark measures from).

use super::v3::{V3, instance};
use super::*;

#[tokio::test]
async fn the_timeline_has_each_task_end_and_every_status_query_of_either_api() {
    let sb = start(fast()).await;
    let before = Instant::now();
    let c = V3::new(&sb);
    let r = c.start(json!([instance(A), instance(B)])).await;
    assert!(r["AsyncRequestId"].is_string(), "{r}");
    let _ = c.detail(A, json!({})).await;
    let mut v2 = Caller::new(&sb);
    let _ = v2.jobs(B, &[]).await;
    let _ = v2.jobs(B, &[]).await;

    let t = sb.timeline();
    assert_eq!(t.tasks.len(), 2);
    for task in &t.tasks {
        assert!(task.submitted >= before);
        // `fast()`: 1–2 s scaled by 0.3.
        let life = task.ends - task.submitted;
        assert!(
            life >= Duration::from_millis(299) && life <= Duration::from_millis(601),
            "{life:?}"
        );
    }
    assert_eq!(t.last_end(), t.tasks.iter().map(|x| x.ends).max());
    let polls = |id: &str| t.polls.iter().filter(|l| l.instance_id == id).count();
    assert_eq!((polls(A), polls(B)), (1, 2));
    assert!(t.polls.windows(2).all(|w| w[0].at <= w[1].at));
    sb.shutdown().await;
}
