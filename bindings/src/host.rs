//! The interfaces the app implements: its secure store and, optionally, its clock.

use crate::errors::HostError;
use softtoken_core::{ClockError, StoreError};
use std::sync::Arc;
use uniffi::deps::anyhow::{self, bail};
use uniffi::{MetadataBuffer, RustBuffer, TypeId};
use zeroize::Zeroizing;

/// A vault record on its way to or from the app's store: wiped when dropped. To the app it is plain
/// bytes (`ByteArray`, `Data`), exactly as a `Vec<u8>` would be; unlike uniffi's own `Vec<u8>`
/// conversion, which grows a fresh buffer byte by byte (leaving partial copies of the record in freed
/// memory) and drops the source unwiped, it is written in one buffer of its exact size and every copy
/// this crate holds is wiped. The one buffer handed to the app is the app's to free.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RecordBytes(Zeroizing<Vec<u8>>);

/// What the app's store holds under a key, if anything (`ByteArray?`, `Data?`): a [`RecordBytes`] or none.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MaybeRecord(pub Option<RecordBytes>);

impl RecordBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, moved out (nothing is copied); the caller keeps them wiped.
    pub fn into_inner(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut *self.0))
    }

    fn encoded_len(&self) -> usize {
        4 + self.0.len()
    }

    fn write_into(&self, buf: &mut Vec<u8>) {
        // Records are far below i32::MAX bytes (the vault refuses huge ones); never truncate silently.
        let len = i32::try_from(self.0.len()).unwrap_or(i32::MAX);
        buf.reserve(self.encoded_len());
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&self.0[..len as usize]);
    }

    fn read_from(buf: &mut &[u8]) -> anyhow::Result<Self> {
        let (Some(head), rest) = (buf.get(..4), buf.get(4..).unwrap_or_default()) else {
            bail!("record bytes: missing length");
        };
        let len = usize::try_from(i32::from_be_bytes([head[0], head[1], head[2], head[3]]))?;
        let Some(bytes) = rest.get(..len) else {
            bail!("record bytes: {len} announced, {} present", rest.len());
        };
        let mut copy = Zeroizing::new(Vec::with_capacity(len));
        copy.extend_from_slice(bytes);
        *buf = &rest[len..];
        Ok(Self(copy))
    }
}

impl From<&[u8]> for RecordBytes {
    fn from(bytes: &[u8]) -> Self {
        let mut copy = Zeroizing::new(Vec::with_capacity(bytes.len()));
        copy.extend_from_slice(bytes);
        Self(copy)
    }
}

impl std::fmt::Debug for RecordBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordBytes({} bytes)", self.0.len())
    }
}

impl std::fmt::Debug for MaybeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MaybeRecord").field(&self.0).finish()
    }
}

/// Reads a whole buffer the app filled, wiping it once read.
fn lift_whole<T>(
    v: RustBuffer,
    read: impl FnOnce(&mut &[u8]) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let whole = Zeroizing::new(v.destroy_into_vec());
    let mut buf = whole.as_slice();
    let value = read(&mut buf)?;
    if !buf.is_empty() {
        bail!("record bytes: {} bytes left over", buf.len());
    }
    Ok(value)
}

// SAFETY: the FFI type is a RustBuffer holding exactly the layout uniffi uses for `Vec<u8>` (a big-endian
// i32 length, then the bytes), and TYPE_ID_META declares it as `Vec<u8>`, so both sides agree.
#[allow(unsafe_code)]
unsafe impl uniffi::FfiConverter<crate::UniFfiTag> for RecordBytes {
    type FfiType = RustBuffer;

    fn lower(obj: Self) -> RustBuffer {
        let mut buf = Vec::with_capacity(obj.encoded_len());
        obj.write_into(&mut buf);
        RustBuffer::from_vec(buf)
    }

    fn try_lift(v: RustBuffer) -> anyhow::Result<Self> {
        lift_whole(v, Self::read_from)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        obj.write_into(buf);
    }

    fn try_read(buf: &mut &[u8]) -> anyhow::Result<Self> {
        Self::read_from(buf)
    }

    const TYPE_ID_META: MetadataBuffer = <Vec<u8> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local RecordBytes);

// SAFETY: as for RecordBytes, with uniffi's layout of `Option<Vec<u8>>` (a tag byte 0 or 1, then the bytes).
#[allow(unsafe_code)]
unsafe impl uniffi::FfiConverter<crate::UniFfiTag> for MaybeRecord {
    type FfiType = RustBuffer;

    fn lower(obj: Self) -> RustBuffer {
        let mut buf = Vec::with_capacity(1 + obj.0.as_ref().map_or(0, RecordBytes::encoded_len));
        Self::write(obj, &mut buf);
        RustBuffer::from_vec(buf)
    }

    fn try_lift(v: RustBuffer) -> anyhow::Result<Self> {
        lift_whole(v, Self::try_read)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        match &obj.0 {
            None => buf.push(0),
            Some(bytes) => {
                buf.reserve(1 + bytes.encoded_len());
                buf.push(1);
                bytes.write_into(buf);
            }
        }
    }

    fn try_read(buf: &mut &[u8]) -> anyhow::Result<Self> {
        let Some((&tag, rest)) = buf.split_first() else {
            bail!("record bytes: missing tag");
        };
        *buf = rest;
        Ok(MaybeRecord(match tag {
            0 => None,
            1 => Some(RecordBytes::read_from(buf)?),
            other => bail!("record bytes: tag {other}"),
        }))
    }

    const TYPE_ID_META: MetadataBuffer =
        <Option<Vec<u8>> as TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local MaybeRecord);

/// Bytes under a key, kept by the app (Keychain on iOS, Android Keystore-encrypted files on Android).
/// `write` must replace the value atomically: after a failed write the old value is still there.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    /// The bytes stored under `key`, or null when there are none.
    fn read(&self, key: String) -> Result<MaybeRecord, HostError>;
    /// Stores `value` under `key`, replacing what was there.
    fn write(&self, key: String, value: RecordBytes) -> Result<(), HostError>;
    /// Removes `key` (no error when it is absent).
    fn delete(&self, key: String) -> Result<(), HostError>;
}

/// The app's clock, when it has a better one than the system's (e.g. network time).
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// The current Unix time in whole seconds.
    fn now_unix_seconds(&self) -> Result<u64, HostError>;
}

/// The app's store as the core's storage hook.
pub(crate) struct StoreAdapter(pub Arc<dyn SecureStore>);

impl softtoken_core::SecureStore for StoreAdapter {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self
            .0
            .read(key.to_string())
            .map_err(|e| StoreError(e.to_string()))?;
        // Moved, not copied: the core keeps the record wiped from here on.
        Ok(stored
            .0
            .map(|bytes| std::mem::take(&mut *bytes.into_inner())))
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        // The adapter's copy is a RecordBytes: wiped when the call returns, whatever the app did.
        self.0
            .write(key.to_string(), RecordBytes::from(value))
            .map_err(|e| StoreError(e.to_string()))
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0
            .delete(key.to_string())
            .map_err(|e| StoreError(e.to_string()))
    }
}

/// The app's clock, or the system's when it gave none.
pub(crate) enum ClockAdapter {
    System,
    Foreign(Arc<dyn Clock>),
}

impl ClockAdapter {
    pub(crate) fn new(clock: Option<Arc<dyn Clock>>) -> Self {
        clock.map_or(ClockAdapter::System, ClockAdapter::Foreign)
    }
}

impl softtoken_core::Clock for ClockAdapter {
    fn now(&self) -> Result<u64, ClockError> {
        match self {
            ClockAdapter::System => softtoken_core::SystemClock.now(),
            ClockAdapter::Foreign(c) => c
                .now_unix_seconds()
                .map_err(|e| ClockError::Host(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::SecureStore as _;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use uniffi::{FfiConverter, Lower};

    /// An app store written in Rust, holding what it was given.
    #[derive(Default)]
    struct MapStore(Mutex<HashMap<String, RecordBytes>>);

    impl SecureStore for MapStore {
        fn read(&self, key: String) -> Result<MaybeRecord, HostError> {
            Ok(MaybeRecord(self.0.lock().unwrap().get(&key).cloned()))
        }
        fn write(&self, key: String, value: RecordBytes) -> Result<(), HostError> {
            self.0.lock().unwrap().insert(key, value);
            Ok(())
        }
        fn delete(&self, key: String) -> Result<(), HostError> {
            self.0.lock().unwrap().remove(&key);
            Ok(())
        }
    }

    #[test]
    fn a_record_crosses_in_one_buffer_of_its_size() {
        let record: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let lowered = <RecordBytes as FfiConverter<crate::UniFfiTag>>::lower(RecordBytes::from(
            record.as_slice(),
        ));
        assert_eq!(lowered.len(), 4 + record.len());
        assert_eq!(
            lowered.capacity(),
            lowered.len(),
            "no spare room: never regrown"
        );
        // uniffi's own conversion of a Vec<u8> grows its buffer as it writes, leaving copies behind.
        let theirs = <Vec<u8> as Lower<crate::UniFfiTag>>::lower(record.clone());
        assert!(theirs.capacity() > theirs.len());
        let ours = lowered.destroy_into_vec();
        assert_eq!(
            theirs.destroy_into_vec(),
            ours,
            "the layout of uniffi's Vec<u8>"
        );
        let back = lift_whole(RustBuffer::from_vec(ours), RecordBytes::read_from).unwrap();
        assert_eq!(back.as_slice(), record.as_slice());
    }

    #[test]
    fn maybe_records_round_trip_and_refuse_damage() {
        let lift = |bytes: Vec<u8>| {
            <MaybeRecord as FfiConverter<crate::UniFfiTag>>::try_lift(RustBuffer::from_vec(bytes))
        };
        let some = MaybeRecord(Some(RecordBytes::from(&b"hello"[..])));
        let lowered = <MaybeRecord as FfiConverter<crate::UniFfiTag>>::lower(some.clone());
        assert_eq!(lowered.capacity(), 1 + 4 + 5);
        assert_eq!(lift(lowered.destroy_into_vec()).unwrap(), some);
        assert_eq!(lift(vec![0]).unwrap(), MaybeRecord(None));
        assert!(lift(vec![2]).is_err());
        assert!(lift(vec![1, 0, 0, 0, 9, b'x']).is_err());
        assert!(lift(vec![1, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(lift(vec![0, 0]).is_err(), "bytes left over");
    }

    #[test]
    fn the_adapter_passes_records_through() {
        let app = Arc::new(MapStore::default());
        let adapter = StoreAdapter(app.clone());
        adapter.write("k", b"record").unwrap();
        assert_eq!(app.0.lock().unwrap()["k"].as_slice(), b"record");
        assert_eq!(adapter.read("k").unwrap().as_deref(), Some(&b"record"[..]));
        adapter.delete("k").unwrap();
        assert_eq!(adapter.read("k").unwrap(), None);
        let taken = RecordBytes::from(&b"abc"[..]).into_inner();
        assert_eq!(taken.as_slice(), b"abc");
    }
}
