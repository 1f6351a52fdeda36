//! Handler signatures the SDK cannot serve fail to compile with a message that says why.
//! Each case in `tests/ui/` has its expected compiler output beside it; regenerate them with
//! `TRYBUILD=overwrite cargo test -p wasgi --test ui` and read the diff.

#[test]
fn unservable_signatures_fail_with_readable_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
