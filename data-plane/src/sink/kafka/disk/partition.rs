//! The log of one topic partition: segment files in one directory, addressed by byte position.
//!
//! A record's position is its offset in the partition's whole log, counted over every segment it
//! ever had; a segment file is named after the position of its first byte
//! (`00000000000000123456.seg`), as Kafka names its own. Positions only grow, so a deleted segment
//! or a corrupt tail cut off leaves a gap that reading steps over.
//!
//! Three positions move through the log: `done` (everything before it was acknowledged by Kafka
//! or dropped, and may be deleted; kept in the file `done`), `send` (everything before it was
//! handed to the pump or dropped) and `tail` (the end of what is durable). Appends go to the
//! last segment until it would pass `segment_bytes`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tributary_connect::record::RenderedRecord;

use super::frame::{self, HEADER_BYTES};
use super::memory::{MemoryTier, take_ledger};

const SEGMENT_SUFFIX: &str = ".seg";
const DONE_FILE: &str = "done";
/// Bytes read at once when records are handed to the pump.
const READ_CHUNK: usize = 256 * 1024;

/// A record read back, with where it lies.
#[derive(Debug)]
pub struct Stored {
    pub position: u64,
    pub end: u64,
    pub record: RenderedRecord,
}

/// What opening a log found wrong, for the metrics and the log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Records found and kept (not yet acknowledged when the worker stopped).
    pub records: u64,
    /// Segment tails cut off because a frame failed its check.
    pub corrupt_tails: u64,
    /// Bytes in those tails.
    pub corrupt_bytes: u64,
    /// Records a `hybrid` log held in memory only when its process ended without a clean stop
    /// (from its ledger, see `memory.rs`): lost.
    pub lost_in_memory: u64,
}

#[derive(Debug)]
struct Segment {
    start: u64,
    len: u64,
    path: PathBuf,
    file: File,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.len
    }
}

#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    topic: Arc<str>,
    segment_bytes: u64,
    /// Whether commits are synced (`disk`) or left to the page cache (`hybrid`).
    sync: bool,
    segments: VecDeque<Segment>,
    done: u64,
    persisted_done: u64,
    send: u64,
    /// The end of the last record handed to the pump: when the pump has nothing of this partition
    /// left, everything up to `send` is done (records dropped since then included).
    served_end: u64,
    tail: u64,
    unsent_records: u64,
    /// Where the log ended when it was opened: what a restarted worker sends first.
    pub backlog_end: u64,
    /// Frames appended and not yet written, with their lengths.
    pending: Vec<u8>,
    pending_lengths: Vec<u64>,
    /// `hybrid`: the records kept in memory only (`unsent_records` counts those on disk).
    memory: MemoryTier,
}

impl PartitionLog {
    /// Opens (creating) the log in `dir`, checks every frame not yet done, cuts off a corrupt
    /// tail, and deletes segments already done.
    pub fn open(
        dir: &Path,
        topic: Arc<str>,
        segment_bytes: u64,
        sync: bool,
    ) -> io::Result<(Self, Recovery)> {
        fs::create_dir_all(dir)?;
        let mut starts = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(start) = name
                .strip_suffix(SEGMENT_SUFFIX)
                .and_then(|s| s.parse::<u64>().ok())
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        let mut segments = VecDeque::new();
        for start in starts {
            let path = segment_path(dir, start);
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            let len = file.metadata()?.len();
            segments.push_back(Segment {
                start,
                len,
                path,
                file,
            });
        }
        let stored = read_done(dir);
        let done = match (segments.front(), segments.back()) {
            // Not clamped to the last segment's end: a `hybrid` log's records after it may have
            // been in memory only, and settled.
            (Some(first), Some(_)) => stored.unwrap_or(first.start).max(first.start),
            // Everything was sent and deleted: positions go on from where they were, so that a
            // `done` written later can never point past records appended after this start.
            _ => stored.unwrap_or(0),
        };
        let mut log = Self {
            dir: dir.to_owned(),
            topic,
            segment_bytes: segment_bytes.max(HEADER_BYTES + 1),
            sync,
            segments,
            done,
            persisted_done: done,
            send: done,
            served_end: done,
            tail: done,
            unsent_records: 0,
            backlog_end: done,
            pending: Vec::new(),
            pending_lengths: Vec::new(),
            memory: MemoryTier::new(dir, 0),
        };
        let mut recovery = log.recover()?;
        if let Some((records, _)) = take_ledger(dir) {
            recovery.lost_in_memory = records;
        }
        log.delete_done_segments();
        Ok((log, recovery))
    }

    /// Checks every frame from `done` on; a frame that fails ends its segment (the file is cut
    /// there). Sets the tail and counts what is left to send.
    fn recover(&mut self) -> io::Result<Recovery> {
        let mut recovery = Recovery::default();
        let done = self.done;
        for segment in &mut self.segments {
            if segment.end() <= done {
                continue;
            }
            let mut offset = done.saturating_sub(segment.start);
            let mut head = [0u8; HEADER_BYTES as usize];
            let mut payload = Vec::new();
            while offset < segment.len {
                let good = read_exact_at(&segment.file, &mut head, offset)
                    .ok()
                    .and_then(|()| frame::header(&head))
                    .and_then(|(length, crc)| {
                        payload.resize(length as usize, 0);
                        read_exact_at(&segment.file, &mut payload, offset + HEADER_BYTES).ok()?;
                        frame::intact(&payload, crc).then_some(HEADER_BYTES + u64::from(length))
                    });
                match good {
                    Some(length) => {
                        offset += length;
                        recovery.records += 1;
                    }
                    None => {
                        recovery.corrupt_tails += 1;
                        recovery.corrupt_bytes += segment.len - offset;
                        segment.file.set_len(offset)?;
                        segment.file.sync_all()?;
                        segment.len = offset;
                    }
                }
            }
        }
        self.tail = self.segments.back().map_or(done, Segment::end).max(done);
        self.backlog_end = self.tail;
        self.unsent_records = recovery.records;
        Ok(recovery)
    }

    /// Makes this a `hybrid` log: up to `limit` bytes of records are kept in memory first.
    pub fn set_memory_limit(&mut self, limit: u64) {
        self.memory.limit = limit;
    }

    /// Records and bytes not yet handed to the pump (in memory and on disk).
    pub fn unsent(&self) -> (u64, u64) {
        (
            self.unsent_records + self.memory.unsent(),
            self.tail.saturating_sub(self.send),
        )
    }

    /// Records and bytes kept in memory only (`hybrid`), sent or not, until Kafka took them.
    pub fn memory_held(&self) -> (u64, u64) {
        (self.memory.records.len() as u64, self.memory.bytes)
    }

    /// Bytes in this partition's segment files.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    pub fn send_position(&self) -> u64 {
        self.send
    }

    /// Queues a frame for the next [`commit`](Self::commit), or (`hybrid`) keeps it in memory
    /// when the memory tier has room and nothing of this partition waits on disk, so that memory
    /// always holds the older records; returns whether it was kept in memory (it then needs no
    /// commit).
    pub fn push(&mut self, frame: &[u8]) -> bool {
        let length = frame.len() as u64;
        if self.memory.has_room(length)
            && self.pending_lengths.is_empty()
            && self.unsent_records == 0
        {
            self.memory.push(self.tail, frame);
            self.tail += length;
            return true;
        }
        self.pending.extend_from_slice(frame);
        self.pending_lengths.push(length);
        false
    }

    /// Takes back the frame [`push`](Self::push) last queued for the disk (it did not fit the
    /// buffer's limit and waits for room).
    pub fn unpush(&mut self) {
        if let Some(length) = self.pending_lengths.pop() {
            let keep = self.pending.len().saturating_sub(length as usize);
            self.pending.truncate(keep);
        }
    }

    pub fn pending_bytes(&self) -> u64 {
        self.pending.len() as u64
    }

    /// Forgets the queued frames (their write failed; the caller keeps them to try again).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
        self.pending_lengths.clear();
    }

    /// Writes the queued frames and makes them durable (`fdatasync`, and the directory when a
    /// segment was created). On failure every file is cut back to where it was, so a later retry
    /// writes the same frames again in the same place.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.pending_lengths.is_empty() {
            return Ok(());
        }
        let before: Vec<(u64, u64)> = self.segments.iter().map(|s| (s.start, s.len)).collect();
        let result = self.write_pending();
        match result {
            Ok(()) => {
                self.tail += self.pending.len() as u64;
                self.unsent_records += self.pending_lengths.len() as u64;
                self.discard_pending();
                Ok(())
            }
            Err(error) => {
                self.roll_back(&before);
                Err(error)
            }
        }
    }

    fn write_pending(&mut self) -> io::Result<()> {
        let mut created = false;
        let mut touched = Vec::new();
        let mut offset = 0usize;
        let mut position = self.tail;
        let lengths = std::mem::take(&mut self.pending_lengths);
        let mut i = 0;
        let result = (|| {
            while i < lengths.len() {
                let needs_new = self.segments.back().is_none_or(|s| {
                    s.len > 0 && s.len + lengths[i] > self.segment_bytes || s.end() != position
                });
                if needs_new {
                    let path = segment_path(&self.dir, position);
                    let file = OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(&path)?;
                    self.segments.push_back(Segment {
                        start: position,
                        len: 0,
                        path,
                        file,
                    });
                    created = true;
                }
                let segment = self
                    .segments
                    .back_mut()
                    .ok_or_else(|| io::Error::other("no segment to append to"))?;
                // As many frames as fit in this segment (at least one).
                let mut bytes = 0u64;
                let mut n = 0;
                while i + n < lengths.len()
                    && (n == 0 || segment.len + bytes + lengths[i + n] <= self.segment_bytes)
                {
                    bytes += lengths[i + n];
                    n += 1;
                }
                let chunk = &self.pending[offset..offset + bytes as usize];
                segment.file.write_all_at(chunk, segment.len)?;
                segment.len += bytes;
                if touched.last() != Some(&segment.start) {
                    touched.push(segment.start);
                }
                offset += bytes as usize;
                position += bytes;
                i += n;
            }
            if !self.sync {
                return Ok(());
            }
            for segment in self.segments.iter().filter(|s| touched.contains(&s.start)) {
                segment.file.sync_data()?;
            }
            if created {
                File::open(&self.dir)?.sync_all()?;
            }
            Ok(())
        })();
        self.pending_lengths = lengths;
        result
    }

    fn roll_back(&mut self, before: &[(u64, u64)]) {
        while self.segments.len() > before.len() {
            if let Some(segment) = self.segments.pop_back() {
                let _ = fs::remove_file(&segment.path);
            }
        }
        for (segment, &(_, len)) in self.segments.iter_mut().zip(before) {
            if segment.len != len {
                let _ = segment.file.set_len(len);
                segment.len = len;
            }
        }
    }

    /// Drops the oldest unsent records until `incoming` more bytes keep the unsent ones within
    /// `limit`; returns how many records were dropped.
    pub fn make_room(&mut self, incoming: u64, limit: u64) -> u64 {
        let mut dropped = 0;
        while self.send < self.tail
            && (self.tail - self.send) + self.pending_bytes() + incoming > limit
        {
            // The oldest unsent records are in memory when any is.
            if self.memory.unsent() > 0 {
                if let Some(end) = self.memory.drop_unsent() {
                    self.send = end;
                    dropped += 1;
                }
                continue;
            }
            match self.frame_length_at(self.send) {
                Some((position, length)) => {
                    self.send = position + length;
                    self.unsent_records = self.unsent_records.saturating_sub(1);
                    dropped += 1;
                }
                None => self.skip_unreadable(),
            }
        }
        dropped
    }

    /// Reads records from `send` on, up to about `max_bytes` (at least one when any is there), and
    /// counts them as handed over.
    pub fn read(&mut self, max_bytes: u64, until: u64, corrupt: &mut Recovery) -> Vec<Stored> {
        let mut out = Vec::new();
        let mut taken = 0u64;
        // Records in memory are older than any unsent one on disk.
        while let Some(record) = self.memory.next_unsent() {
            if record.position >= until || !(out.is_empty() || taken < max_bytes) {
                return out;
            }
            let (position, end) = (record.position, record.end());
            let decoded = frame::decode(&self.topic, &record.frame[HEADER_BYTES as usize..]);
            self.memory.sent += 1;
            self.send = end;
            self.served_end = end;
            match decoded {
                Ok(record) => {
                    taken += end - position;
                    out.push(Stored {
                        position,
                        end,
                        record,
                    });
                }
                // Never expected: the frame was encoded by this process.
                Err(_) => {
                    corrupt.corrupt_tails += 1;
                    corrupt.corrupt_bytes += end - position;
                }
            }
        }
        while self.send < self.tail.min(until) && (out.is_empty() || taken < max_bytes) {
            let Some(index) = self.segment_index(self.send) else {
                self.send = self.tail;
                break;
            };
            let segment = &self.segments[index];
            if self.send < segment.start {
                // In a gap before the first segment (never expected): go on from its start.
                self.send = segment.start;
                continue;
            }
            if self.send >= segment.end() {
                self.send = self
                    .segments
                    .get(index + 1)
                    .map_or(self.tail, |next| next.start);
                continue;
            }
            let offset = self.send - segment.start;
            let want = ((segment.len - offset) as usize).min(READ_CHUNK);
            let mut chunk = vec![0u8; want];
            if read_exact_at(&segment.file, &mut chunk, offset).is_err() {
                corrupt.corrupt_tails += 1;
                corrupt.corrupt_bytes += segment.len - offset;
                self.skip_unreadable();
                continue;
            }
            let mut at = 0usize;
            let mut progressed = false;
            while at + HEADER_BYTES as usize <= chunk.len()
                && self.send < until
                && (out.is_empty() || taken < max_bytes)
            {
                let mut head = [0u8; HEADER_BYTES as usize];
                head.copy_from_slice(&chunk[at..at + HEADER_BYTES as usize]);
                let Some((length, crc)) = frame::header(&head) else {
                    break;
                };
                let end = at + HEADER_BYTES as usize + length as usize;
                if end > chunk.len() {
                    break;
                }
                let payload = &chunk[at + HEADER_BYTES as usize..end];
                let position = self.send;
                let frame_length = (end - at) as u64;
                let decoded = frame::intact(payload, crc)
                    .then(|| frame::decode(&self.topic, payload).ok())
                    .flatten();
                self.send += frame_length;
                self.unsent_records = self.unsent_records.saturating_sub(1);
                progressed = true;
                at = end;
                match decoded {
                    Some(record) => {
                        taken += frame_length;
                        self.served_end = position + frame_length;
                        out.push(Stored {
                            position,
                            end: position + frame_length,
                            record,
                        });
                    }
                    None => {
                        corrupt.corrupt_tails += 1;
                        corrupt.corrupt_bytes += frame_length;
                    }
                }
            }
            if !progressed {
                // The frame at `send` is larger than a chunk, or broken: read it alone.
                match self.read_one(index) {
                    Some(stored) => {
                        taken += stored.end - stored.position;
                        out.push(stored);
                    }
                    None => {
                        corrupt.corrupt_tails += 1;
                        corrupt.corrupt_bytes +=
                            segment_remaining(&self.segments[index], self.send);
                        self.skip_unreadable();
                    }
                }
            }
        }
        out
    }

    fn read_one(&mut self, index: usize) -> Option<Stored> {
        let segment = &self.segments[index];
        let offset = self.send - segment.start;
        let mut head = [0u8; HEADER_BYTES as usize];
        read_exact_at(&segment.file, &mut head, offset).ok()?;
        let (length, crc) = frame::header(&head)?;
        let mut payload = vec![0u8; length as usize];
        read_exact_at(&segment.file, &mut payload, offset + HEADER_BYTES).ok()?;
        if !frame::intact(&payload, crc) {
            return None;
        }
        let record = frame::decode(&self.topic, &payload).ok()?;
        let position = self.send;
        let end = position + HEADER_BYTES + u64::from(length);
        self.send = end;
        self.served_end = end;
        self.unsent_records = self.unsent_records.saturating_sub(1);
        Some(Stored {
            position,
            end,
            record,
        })
    }

    /// The pump's word: every record of this partition before `position` is settled (it has none
    /// of them left when `position` is the end of the last one it was handed). Deletes the
    /// segments wholly settled.
    pub fn settled(&mut self, position: u64) {
        let done = if position >= self.served_end {
            self.send
        } else {
            position
        };
        if done > self.done {
            self.done = done;
            self.memory.settle(done);
            self.delete_done_segments();
        }
    }

    /// Writes `done` (to a new file, renamed over the old) when it moved. Not synced: a `done`
    /// older than the truth after a machine crash means records sent twice, never lost.
    pub fn persist_done(&mut self) -> io::Result<()> {
        if self.done == self.persisted_done {
            return Ok(());
        }
        let mut bytes = self.done.to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        let temporary = self.dir.join("done.tmp");
        let mut file = File::create(&temporary)?;
        file.write_all(&bytes)?;
        fs::rename(&temporary, self.dir.join(DONE_FILE))?;
        self.persisted_done = self.done;
        Ok(())
    }

    /// Writes the records kept in memory to segment files (a clean stop of a `hybrid` log), each
    /// run of adjacent ones to a file named by its position, synced; returns how many.
    pub fn spill_memory(&mut self) -> io::Result<u64> {
        let count = self.memory.records.len() as u64;
        if count == 0 {
            return Ok(0);
        }
        for (start, bytes) in self.memory.runs() {
            let path = segment_path(&self.dir, start);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?;
            file.write_all_at(&bytes, 0)?;
            file.sync_data()?;
            let at = self.segments.partition_point(|s| s.start < start);
            self.segments.insert(
                at,
                Segment {
                    start,
                    len: bytes.len() as u64,
                    path,
                    file,
                },
            );
        }
        File::open(&self.dir)?.sync_all()?;
        self.unsent_records += self.memory.unsent();
        self.memory.clear();
        self.memory.write_ledger()?;
        Ok(count)
    }

    /// Says in the ledger what is in memory only now (`hybrid`; see `memory.rs`).
    pub fn write_ledger(&mut self) -> io::Result<()> {
        self.memory.write_ledger()
    }

    /// Whether nothing is left to send or to settle.
    pub fn is_settled(&self) -> bool {
        self.done >= self.tail && self.pending_lengths.is_empty()
    }

    fn delete_done_segments(&mut self) {
        // The segment appended to goes too once it is wholly settled: the next append starts a
        // new one at the tail, and a full disk gets its room back.
        while self.segments.front().is_some_and(|s| s.end() <= self.done) {
            if let Some(segment) = self.segments.pop_front()
                && let Err(error) = fs::remove_file(&segment.path)
            {
                tracing::warn!(path = %segment.path.display(), %error, "cannot delete a sent segment");
            }
        }
    }

    fn segment_index(&self, position: u64) -> Option<usize> {
        // The last segment starting at or before `position`; a position in a gap belongs to the
        // segment before the gap (its end), which moves on to the next.
        let after = self.segments.partition_point(|s| s.start <= position);
        after
            .checked_sub(1)
            .or((!self.segments.is_empty()).then_some(0))
    }

    /// The frame length at `position` from its header.
    fn frame_length_at(&mut self, position: u64) -> Option<(u64, u64)> {
        let index = self.segment_index(position)?;
        let segment = &self.segments[index];
        if position < segment.start || position >= segment.end() {
            let next = if position < segment.start {
                segment.start
            } else {
                self.segments.get(index + 1)?.start
            };
            self.send = next;
            return self.frame_length_at(next);
        }
        let mut head = [0u8; HEADER_BYTES as usize];
        read_exact_at(&segment.file, &mut head, position - segment.start).ok()?;
        let (length, _) = frame::header(&head)?;
        let end = position + HEADER_BYTES + u64::from(length);
        (end <= segment.end()).then_some((position, HEADER_BYTES + u64::from(length)))
    }

    /// Moves `send` past the rest of its segment: a frame there cannot be read.
    fn skip_unreadable(&mut self) {
        let Some(index) = self.segment_index(self.send) else {
            self.send = self.tail;
            return;
        };
        self.send = self
            .segments
            .get(index + 1)
            .map_or(self.tail, |next| next.start);
        self.unsent_records = self.count_unsent_estimate();
    }

    /// After skipping unreadable bytes the exact count is unknown without a scan; the records
    /// left are recounted from the frames ahead (a frame cut short counts once).
    fn count_unsent_estimate(&self) -> u64 {
        let mut count = 0;
        let mut position = self.send;
        while position < self.tail {
            let Some(index) = self.segment_index(position) else {
                break;
            };
            let segment = &self.segments[index];
            if position < segment.start {
                position = segment.start;
                continue;
            }
            if position >= segment.end() {
                match self.segments.get(index + 1) {
                    Some(next) => {
                        position = next.start;
                        continue;
                    }
                    None => break,
                }
            }
            let mut head = [0u8; HEADER_BYTES as usize];
            let Some((length, _)) =
                read_exact_at(&segment.file, &mut head, position - segment.start)
                    .ok()
                    .and_then(|()| frame::header(&head))
            else {
                position = segment.end();
                continue;
            };
            position += HEADER_BYTES + u64::from(length);
            count += 1;
        }
        count
    }
}

fn segment_remaining(segment: &Segment, position: u64) -> u64 {
    segment.end().saturating_sub(position)
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}{SEGMENT_SUFFIX}"))
}

fn read_done(dir: &Path) -> Option<u64> {
    let bytes = fs::read(dir.join(DONE_FILE)).ok()?;
    if bytes.len() != 12 {
        return None;
    }
    let (value, crc) = bytes.split_at(8);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    (crc32fast::hash(value) == crc).then(|| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(value);
        u64::from_le_bytes(raw)
    })
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}
