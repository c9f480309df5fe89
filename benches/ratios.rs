//! The in-process speed targets as ratios, for a shared and noisy machine: every case runs in short batches that
//! alternate with its baseline's for many rounds, so that a slow spell slows both alike, and each
//! ratio is the median of its per-round ratios.
//!
//! `cargo bench --bench ratios`. The cases are the ones `cargo bench --bench layer` measures one
//! at a time with criterion (`benches/common/mod.rs`).

mod common;

use std::time::{Duration, Instant};

/// Rounds per group; each round runs one batch of every case of the group.
const ROUNDS: usize = 41;
/// The length one batch is calibrated to.
const BATCH: Duration = Duration::from_millis(4);

struct Timed {
    name: String,
    run: common::Case,
    iters: u32,
    /// Nanoseconds per operation, one figure per round.
    ns: Vec<f64>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs every case of a group in alternating batches; the starting case rotates each round.
fn measure<N: Into<String>>(cases: Vec<(N, common::Case)>) -> Vec<Timed> {
    let mut timed: Vec<Timed> = cases
        .into_iter()
        .map(|(name, mut run)| {
            let mut iters = 1u32;
            loop {
                let start = Instant::now();
                (0..iters).for_each(|_| run());
                if start.elapsed() >= BATCH / 4 {
                    break;
                }
                iters *= 2;
            }
            Timed {
                name: name.into(),
                run,
                iters: iters * 4,
                ns: Vec::with_capacity(ROUNDS),
            }
        })
        .collect();
    for round in 0..ROUNDS {
        let count = timed.len();
        for i in 0..count {
            let case = &mut timed[(round + i) % count];
            let start = Instant::now();
            (0..case.iters).for_each(|_| (case.run)());
            let ns = start.elapsed().as_nanos() as f64 / f64::from(case.iters);
            case.ns.push(ns);
        }
    }
    timed
}

fn series<'a>(timed: &'a [Timed], name: &str) -> &'a [f64] {
    &timed
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .ns
}

/// The median over rounds of `ratio` applied to each round's figures of `names`.
fn per_round(timed: &[Timed], names: &[&str], ratio: impl Fn(&[f64]) -> f64) -> f64 {
    let columns: Vec<&[f64]> = names.iter().map(|n| series(timed, n)).collect();
    median(
        (0..ROUNDS)
            .map(|r| ratio(&columns.iter().map(|c| c[r]).collect::<Vec<_>>()))
            .collect(),
    )
}

fn report(label: &str, what: &str, ratio: f64, limit: f64) {
    let verdict = if ratio <= limit { "met" } else { "NOT met" };
    println!("{label:<10} {what:<62} {ratio:>6.2}  (target <= {limit:.2}, {verdict})");
}

fn figures(timed: &[Timed]) {
    for t in timed {
        println!(
            "           {:<52} {:>10.0} ns",
            t.name,
            median(t.ns.clone())
        );
    }
}

fn main() {
    println!("{ROUNDS} alternating rounds of ~{BATCH:?} batches per case; medians\n");

    let access = measure(common::access());
    figures(&access);
    let bare = "bare_service";
    report(
        "overhead",
        "layer overhead / overhead with jsonwebtoken::decode",
        per_round(
            &access,
            &[
                bare,
                "layer_pair_check",
                "layer_jsonwebtoken_decode_pair_check",
            ],
            |f| (f[1] - f[0]) / (f[2] - f[0]),
        ),
        0.6,
    );
    report(
        "floor",
        "layer accepting / the hand-written floor",
        per_round(&access, &["layer_pair_check", "hand_written_floor"], |f| {
            f[0] / f[1]
        }),
        1.0,
    );
    report(
        "refusal",
        "reject a bad signature / accept a good token",
        per_round(
            &access,
            &["layer_reject_bad_signature", "layer_pair_check"],
            |f| f[0] / f[1],
        ),
        0.5,
    );
    println!(
        "           (the same, bare service subtracted from both: {:.2})",
        per_round(
            &access,
            &[bare, "layer_reject_bad_signature", "layer_pair_check"],
            |f| (f[1] - f[0]) / (f[2] - f[0]),
        )
    );
    report(
        "pair",
        "pair check on / pair check off",
        per_round(&access, &["layer_pair_check", "layer_no_pair_check"], |f| {
            f[0] / f[1]
        }),
        1.05,
    );

    let cookies = measure(common::cookies());
    figures(&cookies);
    report(
        "cookies",
        "accept from a cookie / accept from Authorization, no cookie mode",
        per_round(
            &cookies,
            &["layer_cookie_mode_cookie", "layer_bearer"],
            |f| f[0] / f[1],
        ),
        1.1,
    );
    report(
        "cookies",
        "accept from Authorization, cookie mode on / off",
        per_round(
            &cookies,
            &["layer_cookie_mode_bearer", "layer_bearer"],
            |f| f[0] / f[1],
        ),
        1.05,
    );

    let remote = measure(common::remote_keys());
    figures(&remote);
    report(
        "remote",
        "resource server: fetched keys / keys given once",
        per_round(
            &remote,
            &["resource_server_fetched_keys", "resource_server_given_keys"],
            |f| f[0] / f[1],
        ),
        1.05,
    );
    println!(
        "           resource server (fetched keys) / this crate's layer, verify-only: {:.2}",
        per_round(
            &remote,
            &[
                "resource_server_fetched_keys",
                "jwt_auth_verify_only_local_key"
            ],
            |f| f[0] / f[1],
        )
    );

    let refresh = measure(common::refresh());
    println!();
    figures(&refresh);
    report(
        "refresh",
        "refresh / (jsonwebtoken::encode + store refresh)",
        per_round(
            &refresh,
            &["layer_refresh", "jsonwebtoken_encode_plus_store_refresh"],
            |f| f[0] / f[1],
        ),
        1.2,
    );
    report(
        "",
        "its mint + store step (refresh - refresh of an unknown session) / same",
        per_round(
            &refresh,
            &[
                "layer_refresh",
                "layer_refresh_of_an_unknown_session",
                "jsonwebtoken_encode_plus_store_refresh",
            ],
            |f| (f[0] - f[1]) / f[2],
        ),
        1.2,
    );
    report(
        "",
        "refresh / (jsonwebtoken::decode + encode + store refresh)",
        per_round(
            &refresh,
            &[
                "layer_refresh",
                "jsonwebtoken_decode_encode_plus_store_refresh",
            ],
            |f| f[0] / f[1],
        ),
        1.2,
    );

    let hmac = measure(common::hmac());
    println!();
    figures(&hmac);
    println!(
        "           HMAC-SHA256 of 290 bytes, RustCrypto / aws-lc-rs: {:.2}",
        per_round(
            &hmac,
            &[
                "rustcrypto_hmac_sha256_verify",
                "aws_lc_rs_hmac_sha256_verify"
            ],
            |f| f[0] / f[1],
        )
    );

    let asymmetric = measure(common::asymmetric());
    println!();
    figures(&asymmetric);
    for alg in ["EdDSA", "ES256", "RS256"] {
        let first = format!("{alg}/layer_authenticate_first");
        let off = format!("{alg}/layer_authenticate_cache_off");
        let theirs = format!("{alg}/jsonwebtoken_decode");
        report(
            "asymmetric",
            &format!("{alg}: layer authenticate, first time / jsonwebtoken::decode"),
            per_round(&asymmetric, &[&first, &theirs], |f| f[0] / f[1]),
            1.1,
        );
        println!(
            "           {alg}: first time, cache on / cache off: {:.3}",
            per_round(&asymmetric, &[&first, &off], |f| f[0] / f[1])
        );
    }

    let cached = measure(common::cached());
    println!();
    figures(&cached);
    for alg in ["EdDSA", "ES256", "RS256"] {
        let server = format!("{alg}/resource_server_repeated");
        report(
            "cached",
            &format!("{alg}: resource server, repeated token / HS256 layer accept"),
            per_round(&cached, &[&server, "hs256_layer_accept"], |f| f[0] / f[1]),
            2.0,
        );
        let layer = format!("{alg}/layer_repeated");
        println!(
            "           {alg}: this crate's layer, repeated token / HS256 layer accept: {:.2}",
            per_round(&cached, &[&layer, "hs256_layer_accept"], |f| f[0] / f[1])
        );
        let off = format!("{alg}/resource_server_cache_off");
        println!(
            "           {alg}: resource server, cache off / cache on: {:.1}",
            per_round(&cached, &[&off, &server], |f| f[0] / f[1])
        );
    }
    println!(
        "           SHA-256 of the HS256 token / the HS256 layer's whole acceptance: {:.2}",
        per_round(
            &cached,
            &["sha256_of_the_hs256_token", "hs256_layer_accept"],
            |f| f[0] / f[1]
        )
    );
}
