//! Kafka load with rdkafka: topic creation, a producer of stamped records that keeps librdkafka's
//! queue full (no await per record), and a reader that takes every partition from the beginning
//! without a consumer group (no rebalance wait, nothing committed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{BenchError, Result};
use crate::load::{LoadPlan, SendReport, Window, due_at};
use crate::payload;
use crate::sink::MessageSink;

const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Creates `name` with `partitions` partitions; an existing topic is fine.
pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| BenchError::kafka("admin client", e))?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|e| BenchError::kafka(format!("create topic {name}"), e))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BenchError::kafka(format!("create topic {topic}"), code));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct DeliveryCounts {
    delivered: AtomicU64,
    failed: AtomicU64,
}

/// Counts delivery reports on librdkafka's thread.
#[derive(Debug, Clone, Default)]
struct DeliveryCounter(Arc<DeliveryCounts>);

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.0.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Produces `plan` to `topic` and waits for every delivery report; with a `window`, never more
/// than its limit ahead of the far end.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    plan: LoadPlan,
    window: Option<&Window>,
) -> Result<SendReport> {
    let bootstrap = bootstrap.to_owned();
    let topic = topic.to_owned();
    let window = window.cloned();
    tokio::task::spawn_blocking(move || produce_blocking(&bootstrap, &topic, plan, window.as_ref()))
        .await?
}

fn produce_blocking(
    bootstrap: &str,
    topic: &str,
    plan: LoadPlan,
    window: Option<&Window>,
) -> Result<SendReport> {
    let counter = DeliveryCounter::default();
    // Flat out: let librdkafka batch. Paced (latency runs): 1 ms still batches enough that the
    // broker keeps up (with 0, the in-memory broker used before fell behind at 40k records/s).
    let linger_ms = if plan.rate.is_some() { "1" } else { "5" };
    let producer: BaseProducer<DeliveryCounter> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms)
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(counter.clone())
        .map_err(|e| BenchError::kafka("producer", e))?;

    let start = Instant::now();
    let deadline = start + plan.max_duration;
    let mut sent = 0;
    for index in 0..plan.count {
        if Instant::now() >= deadline {
            break;
        }
        if let Some(window) = window
            && !window.admit_blocking(deadline)
        {
            break;
        }
        if let Some(rate) = plan.rate {
            let due = due_at(start, index, rate);
            let now = Instant::now();
            if due > now {
                producer.poll(Duration::ZERO);
                std::thread::sleep(due - now);
            }
        }
        let value = payload::build(plan.seq_base + index, payload::now_us());
        let key = (plan.seq_base + index).to_string();
        let mut record = BaseRecord::to(topic).key(&key).payload(&value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // The local queue is full: serve delivery reports, then retry the same record.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(5));
                }
                Err((err, _)) => return Err(BenchError::kafka(format!("produce to {topic}"), err)),
            }
        }
        sent += 1;
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(FLUSH_TIMEOUT)
        .map_err(|e| BenchError::kafka(format!("flush to {topic}"), e))?;
    Ok(SendReport {
        sent,
        confirmed: counter.0.delivered.load(Ordering::Relaxed),
        failed: counter.0.failed.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    })
}

/// Where a reader starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The first record still kept: every record of the topic.
    Beginning,
    /// The partition's end when the reader starts: only what is produced from then on. A
    /// measured run reads this way; from the beginning it would first wade through the earlier
    /// runs' records, and its first records would arrive late by that much.
    End,
}

/// How long the reader waits for a partition's end offset.
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads every partition of `topic` into `sink` until `stop`.
pub fn read<S: MessageSink>(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    from: ReadFrom,
    mut sink: S,
    stop: CancellationToken,
) -> Result<JoinHandle<Result<S>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka wants a group id even for assigned partitions; it is never joined.
        .set("group.id", format!("bench-reader-{topic}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "10")
        // librdkafka postpones a partition's next fetch by this much (1 s by default) whenever
        // its local queue is over `queued.min.messages`: at these rates that is the reader, not
        // the pipeline, adding a second to the tail latency.
        .set("fetch.queue.backoff.ms", "1")
        .set("fetch.error.backoff.ms", "10")
        .create()
        .map_err(|e| BenchError::kafka("reader", e))?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        let offset = match from {
            ReadFrom::Beginning => Offset::Beginning,
            // The end read now, not librdkafka's `Offset::End`, which it resolves only once it
            // starts fetching: what the sender produced in between would be skipped.
            ReadFrom::End => consumer
                .fetch_watermarks(topic, partition, WATERMARK_TIMEOUT)
                .map(|(_, high)| Offset::Offset(high))
                .map_err(|e| BenchError::kafka(format!("end offset of {topic}/{partition}"), e))?,
        };
        assignment
            .add_partition_offset(topic, partition, offset)
            .map_err(|e| BenchError::kafka(format!("assign {topic}/{partition}"), e))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| BenchError::kafka(format!("assign {topic}"), e))?;
    let topic = topic.to_owned();
    Ok(tokio::task::spawn_blocking(move || {
        while !stop.is_cancelled() {
            match consumer.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => sink.on_message(message.payload().unwrap_or_default()),
                Some(Err(err)) => tracing::warn!(topic, error = %err, "Kafka read error"),
                None => {}
            }
        }
        Ok(sink)
    }))
}
