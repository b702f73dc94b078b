mod common;
use common::*;

#[test]
fn ingest_then_show_round_trips_exact_decimals() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, "2024-09-20T09:00:00Z");
    // Without healing, so that only today's request is made.
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = env.run(&["show", "--format", "csv"]);
    assert_eq!(code, 0);
    for (c, r) in RATES_SHOWN {
        assert!(out.contains(&format!("2024-09-20,EUR,{c},{r}\n")), "{out}");
    }
    assert_eq!(server.count(), 1);
}
