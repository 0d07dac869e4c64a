//! Criterion benches of the functions every appeal goes through (issue 27, point 6), on
//! the body `bench/intake.sh` and `bench/callgrind.sh` post (`bench/appeal.json`): reading
//! the API body, normalization, the phone fast path and the crate behind it, the policy,
//! the free-text guard, district detection, `intake::accept` as a whole, and serializing
//! the messages. They print figures (`cargo bench`, or `cargo bench -- guard` for one
//! group); nothing here asserts a time. The outbox append (a group of records written
//! and synced, as requests in flight together make) is benched on the machine's disk.
//!
//! Each bench first checks its input does what it is meant to (an appeal that fails to
//! parse would bench the error path).

use std::hint::black_box;

use appeal_gateway::bench::{self, Pipeline};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// The benchmark's appeal: 2.4 KB of Kazakh and Russian text, every allowlisted field,
/// three fields the policy drops.
const BODY: &[u8] = include_bytes!("../bench/appeal.json");

/// A Russian text of the same length with a card number, an IBAN, another person's IIN
/// and a special-category word in it: the guard's work when it finds something.
fn text_with_findings() -> String {
    let mut text = String::from(
        "Прошу разобраться: в поликлинике мне отказали, у меня инвалидность. \
         Деньги вернули на карту 4400 4301 2345 6789, счёт KZ86 125K ZT50 0410 0100, \
         ИИН соседа 900101300017. ",
    );
    while text.len() < 2_000 {
        text.push_str("На улице Жандосова 55 не горит фонарь уже третью неделю, очень темно. ");
    }
    text
}

fn pipeline() -> Pipeline {
    Pipeline::new().expect("the shipped policy files and catalogue load")
}

fn request(c: &mut Criterion) {
    let pipeline = pipeline();
    assert!(pipeline.read(BODY).is_some(), "the body is an appeal");
    c.bench_function("request/read the API body", |b| {
        b.iter(|| pipeline.read(black_box(BODY)))
    });
}

fn normalization(c: &mut Criterion) {
    let appeal: serde_json::Value = serde_json::from_slice(BODY).expect("json");
    let text = appeal["text"].as_str().expect("text").to_owned();
    let address = appeal["location"]["address"]
        .as_str()
        .expect("address")
        .to_owned();
    let mut group = c.benchmark_group("normalize");
    group.bench_function("text", |b| b.iter(|| bench::text(black_box(&text))));
    group.bench_function("line", |b| b.iter(|| bench::line(black_box(&address))));
    group.bench_function("language", |b| b.iter(|| bench::language(black_box(&text))));
    assert_eq!(
        bench::phone("+7 701 123 45 67").as_deref(),
        Some("+77011234567")
    );
    assert_eq!(
        bench::phone("+49 30 901820").as_deref(),
        Some("+4930901820")
    );
    group.bench_function("phone/kazakh mobile (numbering plan)", |b| {
        b.iter(|| bench::phone(black_box("+7 701 123 45 67")))
    });
    group.bench_function("phone/foreign (phonenumber crate)", |b| {
        b.iter(|| bench::phone(black_box("+49 30 901820")))
    });
    group.finish();
}

fn policy(c: &mut Criterion) {
    let pipeline = pipeline();
    let intake = pipeline.read(BODY).expect("an appeal");
    assert_eq!(
        pipeline.policy(&intake),
        15,
        "every allowlisted field is kept"
    );
    c.bench_function("policy/filter the applicant", |b| {
        b.iter(|| pipeline.policy(black_box(&intake)))
    });
}

fn guard(c: &mut Criterion) {
    let appeal: serde_json::Value = serde_json::from_slice(BODY).expect("json");
    let plain = appeal["text"].as_str().expect("text").to_owned();
    let findings = text_with_findings();
    assert_eq!(bench::guard(&plain).1, 0, "nothing to find in the appeal");
    assert_eq!(
        bench::guard(&findings).1,
        4,
        "a card, an IBAN, an IIN and a health flag"
    );
    let mut group = c.benchmark_group("guard");
    group.bench_function("appeal text (nothing found)", |b| {
        b.iter(|| bench::guard(black_box(&plain)))
    });
    group.bench_function("text with a card, an IBAN, an IIN and a flag", |b| {
        b.iter(|| bench::guard(black_box(&findings)))
    });
    group.finish();
}

fn district(c: &mut Criterion) {
    assert_eq!(
        bench::district("Алмалинский р-н, Толе би 100"),
        Some("almaly")
    );
    let mut group = c.benchmark_group("district");
    group.bench_function("named", |b| {
        b.iter(|| bench::district(black_box("Алмалинский р-н, Толе би 100")))
    });
    group.bench_function("none", |b| {
        b.iter(|| bench::district(black_box("пр. Абая, 10, Алматы")))
    });
    group.finish();
}

fn accept_and_serialize(c: &mut Criterion) {
    let pipeline = pipeline();
    let intake = pipeline.read(BODY).expect("an appeal");
    let accepted = pipeline.accept(intake.clone()).expect("accepted");
    assert!(!accepted.text().is_empty());
    c.bench_function("intake/accept", |b| {
        b.iter_batched(
            || intake.clone(),
            |intake| pipeline.accept(intake),
            BatchSize::SmallInput,
        )
    });
    let mut group = c.benchmark_group("serialize");
    group.bench_function("appeal", |b| b.iter(|| black_box(&accepted).appeal_json()));
    group.bench_function("consent and statistics", |b| {
        b.iter(|| black_box(&accepted).consent_and_stats_json())
    });
    group.finish();
}

fn outbox_append(c: &mut Criterion) {
    let pipeline = pipeline();
    let intake = pipeline.read(BODY).expect("an appeal");
    let accepted = pipeline.accept(intake).expect("accepted");
    let dir = tempfile::tempdir().expect("a directory for the outbox");
    let spool = bench::Spool::open(dir.path(), &accepted).expect("an outbox");
    assert_eq!(spool.append_group(64), 64, "every record stored");
    let mut group = c.benchmark_group("outbox");
    // 64 requests in flight, as `bench/intake.sh`'s connections: one group commit.
    group.throughput(Throughput::Elements(64));
    group.bench_function("append 64 appeals, durable", |b| {
        b.iter(|| spool.append_group(64))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("append 1 appeal, durable", |b| {
        b.iter(|| spool.append_group(1))
    });
    group.finish();
}

criterion_group!(
    hot_paths,
    request,
    normalization,
    policy,
    guard,
    district,
    accept_and_serialize,
    outbox_append
);
criterion_main!(hot_paths);
