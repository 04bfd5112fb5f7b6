//! The executor's two lanes: the chain's jobs, which have deadlines, go
//! before fast-path requests, and each lane refuses at once past its own
//! capacity rather than queueing.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

mod common;

use common::{setup, Setup};
use std::sync::{mpsc, Arc, Mutex};
use tch::Device;
use tributary_worker::executor::{Executor, Lane, QueueFull};

const INPUT: &[u8] = b"Heavy rain and strong winds tonight";

#[test]
fn a_free_thread_takes_a_job_before_the_requests_waiting() {
	let Setup { _dir, store, good } = setup();
	let executor = Executor::start(1, 4, Device::Cpu, store);
	executor.set_request_capacity(8);
	let order = Arc::new(Mutex::new(Vec::new()));
	let (done, finished) = mpsc::channel();
	let record = |name: &'static str| {
		let (order, done) = (order.clone(), done.clone());
		move |reply: tributary_worker::executor::Reply| {
			assert!(reply.is_ok());
			order.lock().unwrap().push(name);
			done.send(()).unwrap();
		}
	};
	// The one thread is held inside the first request's reply until the
	// rest are queued.
	let (release, held) = mpsc::channel::<()>();
	let (started, running) = mpsc::channel::<()>();
	let first = record("request 0");
	executor
		.submit_request(good, INPUT.to_vec(), move |reply| {
			started.send(()).unwrap();
			held.recv().unwrap();
			first(reply);
		})
		.unwrap();
	running.recv().unwrap();
	for _ in 1..4 {
		executor.submit_request(good, INPUT.to_vec(), record("request")).unwrap();
	}
	executor.submit(good, INPUT.to_vec(), record("job")).unwrap();
	// The first is answered (its reply is what holds the thread).
	assert_eq!(executor.queued_in(Lane::Request), 3);
	assert_eq!(executor.queued_in(Lane::Job), 1);
	release.send(()).unwrap();
	for _ in 0..5 {
		finished.recv().unwrap();
	}
	assert_eq!(*order.lock().unwrap(), ["request 0", "job", "request", "request", "request"]);
	assert_eq!(executor.queued_in(Lane::Request), 0);
}

#[test]
fn each_lane_refuses_past_its_own_capacity_and_a_full_request_lane_leaves_jobs_room() {
	let Setup { _dir, store, good } = setup();
	let executor = Executor::start(1, 1, Device::Cpu, store);
	assert_eq!(
		executor.submit_request(good, INPUT.to_vec(), |_| {}),
		Err(QueueFull),
		"no request lane until the fast path opens one"
	);
	executor.set_request_capacity(2);
	let (release, held) = mpsc::channel::<()>();
	let (started, running) = mpsc::channel::<()>();
	executor
		.submit_request(good, INPUT.to_vec(), move |_| {
			started.send(()).unwrap();
			held.recv().unwrap();
		})
		.unwrap();
	running.recv().unwrap();
	executor.submit_request(good, INPUT.to_vec(), |_| {}).unwrap();
	executor.submit_request(good, INPUT.to_vec(), |_| {}).unwrap();
	assert_eq!(executor.submit_request(good, INPUT.to_vec(), |_| {}), Err(QueueFull));
	let (answered, job) = mpsc::channel();
	executor
		.submit(good, INPUT.to_vec(), move |reply| answered.send(reply.is_ok()).unwrap())
		.unwrap();
	assert_eq!(
		executor.submit(good, INPUT.to_vec(), |_| {}),
		Err(QueueFull),
		"the job lane holds 1"
	);
	release.send(()).unwrap();
	assert!(job.recv().unwrap(), "the job ran");
	executor.shutdown();
}
