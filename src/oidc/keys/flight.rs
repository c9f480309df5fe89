//! [`Flights`]: one fetch of a key source at a time, whoever asks — the background task,
//! `refresh`, a token naming an unknown `kid` — with no lock held while it runs: those who wait
//! for it watch for its end, and may stop watching without stopping it.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::oidc::error::{KeySourceError, KeySourceErrorKind};

/// How a fetch ended: how long its keys may be kept, or why it failed.
pub(crate) type Outcome = Result<Duration, KeySourceError>;

/// The fetches of one key source, numbered from 1 as they start.
#[derive(Debug)]
pub(crate) struct Flights {
    state: watch::Sender<State>,
}

#[derive(Debug, Default)]
struct State {
    /// How many fetches have started.
    started: u64,
    /// Whether the last one started is under way.
    running: bool,
    /// The last one that ended, by number, and how.
    ended: Option<(u64, Outcome)>,
    /// When a token naming an unknown `kid` last started one.
    last_for_unknown_kid: Option<Instant>,
}

/// Who asks for a fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Asker {
    /// The schedule, `refresh` or `build`: joins the fetch under way, or starts one.
    Owner,
    /// A token naming an unknown `kid`: joins the fetch under way, or starts one unless one was
    /// started for an unknown `kid` less than `interval` ago.
    UnknownKid { interval: Duration },
}

/// What the one who asked is to do.
#[derive(Debug)]
pub(crate) enum Flight {
    /// Wait for this fetch: under way, or over (an unknown `kid` that may not start one).
    Wait(u64),
    /// Run the fetch just started, and end it with the ticket.
    Run(Ticket),
}

/// The right and duty to end one fetch: dropped without [`end`](Self::end) — its task
/// cancelled or panicking — it ends the fetch as failed, so that no one waits for it forever.
#[derive(Debug)]
pub(crate) struct Ticket {
    state: watch::Sender<State>,
    number: u64,
    outcome: Option<Outcome>,
}

impl Flights {
    pub(crate) fn new() -> Self {
        Self {
            state: watch::Sender::new(State::default()),
        }
    }

    /// The fetch under way if there is one, else a new one for the caller to run — unless
    /// `asker` may not start one.
    pub(crate) fn join_or_start(&self, asker: Asker) -> Flight {
        let now = Instant::now();
        let mut flight = Flight::Wait(0);
        self.state.send_if_modified(|state| {
            if state.running {
                flight = Flight::Wait(state.started);
                return false;
            }
            if let Asker::UnknownKid { interval } = asker {
                if state
                    .last_for_unknown_kid
                    .is_some_and(|at| now.duration_since(at) < interval)
                {
                    flight = Flight::Wait(state.started);
                    return false;
                }
                state.last_for_unknown_kid = Some(now);
            }
            state.started += 1;
            state.running = true;
            flight = Flight::Run(Ticket {
                state: self.state.clone(),
                number: state.started,
                outcome: None,
            });
            true
        });
        flight
    }

    /// How many fetches have started: those numbered above started later.
    pub(crate) fn started(&self) -> u64 {
        self.state.borrow().started
    }

    /// How fetch `number` ended — or a later one, if it ended first — waiting without a lock.
    pub(crate) async fn ended(&self, number: u64) -> Outcome {
        let mut watching = self.state.subscribe();
        let outcome = match watching
            .wait_for(|state| state.since(number).is_some())
            .await
        {
            Ok(state) => state.since(number).cloned(),
            // Never: `self` holds a sender.
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| Err(cancelled()))
    }
}

impl State {
    fn since(&self, number: u64) -> Option<&Outcome> {
        match &self.ended {
            Some((ended, outcome)) if *ended >= number => Some(outcome),
            _ => None,
        }
    }
}

impl Ticket {
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Ends the fetch: those waiting for it wake up with `outcome`.
    pub(crate) fn end(mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| Err(cancelled()));
        let number = self.number;
        self.state.send_modify(|state| {
            state.running = false;
            state.ended = Some((number, outcome));
        });
    }
}

fn cancelled() -> KeySourceError {
    KeySourceError::new(
        KeySourceErrorKind::Unreachable,
        "the fetch was cancelled before it ended",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(flight: Flight) -> Ticket {
        match flight {
            Flight::Run(ticket) => ticket,
            Flight::Wait(number) => panic!("told to wait for fetch {number}"),
        }
    }

    fn wait(flight: Flight) -> u64 {
        match flight {
            Flight::Wait(number) => number,
            Flight::Run(ticket) => panic!("told to run fetch {}", ticket.number()),
        }
    }

    #[tokio::test]
    async fn one_fetch_at_a_time_and_its_outcome_for_all_who_wait() {
        let flights = Flights::new();
        let first = run(flights.join_or_start(Asker::Owner));
        assert_eq!(first.number(), 1);
        assert_eq!(wait(flights.join_or_start(Asker::Owner)), 1);
        let interval = Duration::from_secs(10);
        assert_eq!(
            wait(flights.join_or_start(Asker::UnknownKid { interval })),
            1
        );

        first.end(Ok(Duration::from_secs(60)));
        assert_eq!(flights.ended(1).await.unwrap(), Duration::from_secs(60));
        let second = run(flights.join_or_start(Asker::Owner));
        assert_eq!((second.number(), flights.started()), (2, 2));
        // Dropped unended, as by a cancelled task: a failure, never a wait without end.
        drop(second);
        let error = flights.ended(2).await.unwrap_err();
        assert!(error.to_string().contains("cancelled"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_kids_start_at_most_one_fetch_per_interval() {
        let flights = Flights::new();
        let interval = Duration::from_secs(10);
        run(flights.join_or_start(Asker::UnknownKid { interval })).end(Ok(Duration::ZERO));
        // Too soon: the caller is pointed at the fetch that ended, and does not wait.
        assert_eq!(
            wait(flights.join_or_start(Asker::UnknownKid { interval })),
            1
        );
        assert!(flights.ended(1).await.is_ok());
        // The schedule is not held to the interval.
        run(flights.join_or_start(Asker::Owner)).end(Ok(Duration::ZERO));
        tokio::time::advance(interval).await;
        assert_eq!(
            run(flights.join_or_start(Asker::UnknownKid { interval })).number(),
            3
        );
    }
}
