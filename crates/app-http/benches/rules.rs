//! `just bench-rules`: how long choosing the auto-reply of one message takes with 1,000 rules.
//!
//! It compiles 1,000 enabled rules of one account, mixed as a busy shop would have them (400
//! `keyword`, 250 `contains`, 100 `exact`, 250 `regex`, in Latin, Cyrillic and accented
//! spellings, at random priorities), then matches a rotation of messages against them: short
//! and long, ASCII and not, some answered by a rule and some by none (the worst case: every
//! automaton runs to the end of the text). Each match is timed on its own; it prints p50, p99
//! and the maximum per message kind and overall, and how long compiling took. Target (issue 8):
//! p99 < 50 µs.
//!
//! `cargo bench -p app-http --bench rules` (`BENCH_ITERATIONS`, default 200000 matches).

#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a bench binary prints and fails loudly"
)]

use std::time::{Duration, Instant};

use app_http::replies::CompiledRules;
use domain::{AccountId, MatchKind, ReplyRule, RuleId, Timestamp};

/// Words the patterns are made of, as customers write them.
const WORDS: [&str; 20] = [
    "price",
    "цена",
    "precio",
    "prix",
    "preço",
    "delivery",
    "доставка",
    "envío",
    "livraison",
    "size",
    "размер",
    "talla",
    "taille",
    "refund",
    "возврат",
    "reembolso",
    "remboursement",
    "discount",
    "скидка",
    "café",
];

/// Messages matched in turn: (label, text).
const MESSAGES: [(&str, &str); 6] = [
    ("short ascii, matched", "Hi! What is the price12 of this?"),
    (
        "short cyrillic, matched",
        "Здравствуйте! Какая доставка7 в Казань?",
    ),
    (
        "short accented, none",
        "¿Tienen esta chaqueta en otro color? Gracias 😊",
    ),
    (
        "200 B mixed, none",
        "Hello, I ordered the blue dress last week and it still has not arrived. Could you \
         please check the tracking? Заказ был оформлен во вторник. Merci beaucoup!",
    ),
    ("1000 B ascii, none", LONG_ASCII),
    ("1000 B cyrillic, none", LONG_CYRILLIC),
];

const LONG_ASCII: &str = "I would like to know more about the jacket in the picture, the one with \
    the hood and the two pockets on the front. Is it waterproof or only water resistant? I live \
    in a rainy city and walk to work every day, so I need something that keeps me dry for about \
    forty minutes in heavy rain. Also, what material is the lining made of, and is it warm enough \
    for temperatures around zero degrees? I usually wear a medium but my shoulders are quite \
    broad, so maybe a large would fit better; what are the exact measurements of both? Finally, \
    do you ship to Portugal, and how long does it usually take to arrive there? I saw in your \
    story that there is a promotion this week, does it apply to this jacket as well or only to \
    the new collection? Sorry for all the questions, I just want to be sure before I order it. \
    Thank you very much for your help and have a nice day, I am looking forward to hearing from \
    you soon. Best regards from a future happy customer, Ana!";

const LONG_CYRILLIC: &str = "Добрый день! Хотела уточнить несколько вопросов по заказу. Подскажите, \
    пожалуйста, какой размер лучше взять при росте сто шестьдесят восемь, обычно ношу S, но \
    иногда M. Есть ли возврат19 если не подойдёт, и сколько дней на него даётся? Доставка в \
    Новосибирск курьером возможна или только в пункт выдачи? Спасибо большое!";

fn rule(n: usize, kind: MatchKind, pattern: String) -> ReplyRule {
    let entropy: [u8; 12] =
        std::array::from_fn(|i| u8::try_from((n >> (8 * (i % 4))) & 0xff).unwrap());
    ReplyRule {
        id: RuleId::from_entropy(entropy),
        account_id: AccountId::from_entropy([7; 12]),
        match_kind: kind,
        pattern,
        reply: format!("Thanks {{username}}, answer {n}"),
        // A spread of priorities, so ranking is exercised.
        priority: i32::try_from((n * 7919) % 100).unwrap(),
        enabled: true,
        cooldown_seconds: 3600,
        created_at: Timestamp::from_millis(i64::try_from(n).unwrap()),
        updated_at: Timestamp::from_millis(i64::try_from(n).unwrap()),
    }
}

/// 1,000 rules: 400 keyword, 250 contains, 100 exact, 250 regex.
fn rules() -> Vec<ReplyRule> {
    let mut rules = Vec::with_capacity(1_000);
    for n in 0..1_000 {
        let word = WORDS[n % WORDS.len()];
        let k = n / WORDS.len();
        let (kind, pattern) = match n % 20 {
            0..=7 => (MatchKind::Keyword, format!("{word}{k}")),
            8..=12 => (MatchKind::Contains, format!("{word}{k} ")),
            13..=14 => (MatchKind::Exact, format!("{word} {k}?")),
            _ => (
                MatchKind::Regex,
                match n % 4 {
                    0 => format!(r"(?i)^{word}\s*{k}\b"),
                    1 => format!(r"(?i)order\s*#?{k}\d{{4}}"),
                    2 => format!(r"(?i)(?:{word}|code)-{k}[a-z]{{2}}$"),
                    _ => format!(r"\b{word}\s+{k}\s+(?:pls|please|пожалуйста)\b"),
                },
            ),
        };
        rules.push(rule(n, kind, pattern));
    }
    rules
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a sample well below 2^52"
    )]
    let index = ((last as f64) * p).round() as usize;
    sorted[index.min(last)]
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200_000);
    let rules = rules();
    let started = Instant::now();
    let compiled = CompiledRules::compile(&rules);
    let compile_time = started.elapsed();
    assert_eq!(compiled.len(), 1_000, "every rule compiles");

    // Warm up: the regexes' lazy DFAs fill their caches on the first messages.
    for (_, text) in MESSAGES {
        for _ in 0..1_000 {
            std::hint::black_box(compiled.best_match(text));
        }
    }
    let mut per_message: Vec<Vec<Duration>> = vec![Vec::new(); MESSAGES.len()];
    let mut answered = vec![false; MESSAGES.len()];
    for i in 0..iterations {
        let index = i % MESSAGES.len();
        let text = MESSAGES[index].1;
        let started = Instant::now();
        let found = std::hint::black_box(compiled.best_match(std::hint::black_box(text)));
        per_message[index].push(started.elapsed());
        answered[index] = found.is_some();
    }

    println!(
        "1,000 rules (400 keyword, 250 contains, 100 exact, 250 regex), compiled in {:.1} ms; \
         {iterations} matches",
        compile_time.as_secs_f64() * 1e3
    );
    println!(
        "{:<26} {:>6} {:>9} {:>9} {:>9}",
        "message", "rule", "p50", "p99", "max"
    );
    let mut all = Vec::with_capacity(iterations);
    for ((label, _), (mut times, answered)) in
        MESSAGES.iter().zip(per_message.into_iter().zip(answered))
    {
        times.sort_unstable();
        println!(
            "{label:<26} {:>6} {:>9} {:>9} {:>9}",
            if answered { "yes" } else { "none" },
            micros(percentile(&times, 0.50)),
            micros(percentile(&times, 0.99)),
            micros(*times.last().unwrap())
        );
        all.extend(times);
    }
    all.sort_unstable();
    let p99 = percentile(&all, 0.99);
    println!(
        "{:<26} {:>6} {:>9} {:>9} {:>9}",
        "all",
        "",
        micros(percentile(&all, 0.50)),
        micros(p99),
        micros(*all.last().unwrap())
    );
    println!(
        "target p99 < 50 µs: {}",
        if p99 < Duration::from_micros(50) {
            "met"
        } else {
            "MISSED"
        }
    );
}
