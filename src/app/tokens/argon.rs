//! argon2id on a fixed set of threads, each owning one memory buffer allocated
//! when the thread starts and reused for every job: a wrong token costs CPU
//! time and never memory. (Letting the argon2 crate allocate its 19 MiB per
//! call on the blocking pool kept each block in a per-thread malloc arena, so
//! every blocking thread that ever verified held one for good.)
//!
//! Callers hand a job over without blocking (an unbounded channel, so its
//! length is bounded by the callers waiting, each with one job) and await the
//! answer; a job whose caller has gone away is skipped.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// The parameters tokens are hashed with: argon2's recommended defaults
/// (19 MiB, 2 passes, 1 lane, 32-byte output).
const PARAMS: Params = Params::DEFAULT;
/// The output length of issued hashes.
const OUTPUT_BYTES: usize = Params::DEFAULT_OUTPUT_LEN;
/// The longest output a stored hash may have (the PHC format's limit).
const MAX_OUTPUT_BYTES: usize = Output::MAX_LENGTH;

/// One thread's argon2 memory: the blocks of one hash with [`PARAMS`], allocated once.
pub struct Memory {
    blocks: Vec<Block>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory { blocks: vec![Block::default(); PARAMS.block_count()] }
    }
}

impl Memory {
    /// The PHC string of `secret` hashed with `salt` (16 random bytes).
    pub fn hash(&mut self, secret: &[u8], salt: &[u8; 16]) -> Result<String, argon2::password_hash::Error> {
        let mut out = [0u8; OUTPUT_BYTES];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS).hash_password_into_with_memory(
            secret,
            salt,
            &mut out,
            self.blocks.as_mut_slice(),
        )?;
        let salt = SaltString::encode_b64(salt)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&PARAMS)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out)?),
        };
        Ok(hash.to_string())
    }

    /// Whether `secret` matches the PHC string `phc`, compared in constant time.
    /// False for anything harmy would not have written: another algorithm or
    /// version, parameters costlier than [`PARAMS`] (more memory than the buffer
    /// holds, more passes or lanes), or a string that does not parse.
    pub fn verify(&mut self, phc: &str, secret: &[u8]) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else { return false };
        let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else { return false };
        if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13.into()) {
            return false;
        }
        let Ok(params) = Params::try_from(&hash) else { return false };
        if params.block_count() > self.blocks.len()
            || params.t_cost() > PARAMS.t_cost()
            || params.p_cost() > PARAMS.p_cost()
        {
            return false;
        }
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
        let mut out = [0u8; MAX_OUTPUT_BYTES];
        let out = &mut out[..expected.len()];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        if argon.hash_password_into_with_memory(secret, salt, out, self.blocks.as_mut_slice()).is_err() {
            return false;
        }
        // `Output`'s equality is constant-time.
        Output::new(out).is_ok_and(|computed| computed == expected)
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The argon2 threads, started at the first job.
pub struct Pool {
    threads: usize,
    queue: OnceLock<Sender<Job>>,
}

impl Pool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Pool {
        Pool { threads: threads.max(1), queue: OnceLock::new() }
    }

    /// Runs `f` on one of the pool's threads with its memory; `None` when the
    /// job could not run (no thread could be started, or it panicked).
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Option<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller went away (a client that hung up): no need to spend the CPU.
            if !answer.is_closed() {
                let _ = answer.send(f(memory));
            }
        });
        self.queue.get_or_init(|| start(self.threads)).send(job).ok()?;
        answered.await.ok()
    }
}

/// Starts the threads; they end when the pool (the sender) is dropped.
fn start(threads: usize) -> Sender<Job> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..threads {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new().name(format!("harmy-argon2-{n}")).spawn(move || work(&receiver));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start an argon2 thread");
        }
    }
    // Dropping our handle here means: when no thread started, sending fails at
    // once instead of queueing jobs nobody runs.
    sender
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let job = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else { return };
        // A panicking job drops its answer (its caller hears `None`); the thread and
        // its memory stay for the next job.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            tracing::error!("an argon2 job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    const SALT: [u8; 16] = *b"0123456789abcdef";

    #[test]
    fn a_hash_verifies_its_secret_only() {
        let mut memory = Memory::default();
        let phc = memory.hash(b"secret", &SALT).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(memory.verify(&phc, b"secret"));
        assert!(!memory.verify(&phc, b"secreT"));
        assert!(!memory.verify(&phc, b""));
    }

    #[test]
    fn hashes_written_by_the_argon2_crate_itself_still_verify() {
        // What harmy stored before it hashed into its own memory.
        let salt = SaltString::encode_b64(&SALT).unwrap();
        let phc = Argon2::default().hash_password(b"secret", &salt).unwrap().to_string();
        let mut memory = Memory::default();
        assert_eq!(memory.hash(b"secret", &SALT).unwrap(), phc);
        assert!(memory.verify(&phc, b"secret"));
    }

    #[test]
    fn other_algorithms_and_costlier_parameters_are_refused() {
        let salt = SaltString::encode_b64(&SALT).unwrap();
        let with = |algorithm: Algorithm, m: u32, t: u32, p: u32| {
            let params = Params::new(m, t, p, None).unwrap();
            Argon2::new(algorithm, Version::V0x13, params).hash_password(b"secret", &salt).unwrap().to_string()
        };
        let mut memory = Memory::default();
        assert!(memory.verify(&with(Algorithm::Argon2id, 1024, 1, 1), b"secret"), "cheaper is fine");
        for (phc, why) in [
            (with(Algorithm::Argon2i, 1024, 1, 1), "argon2i"),
            (with(Algorithm::Argon2d, 1024, 1, 1), "argon2d"),
            (with(Algorithm::Argon2id, 20 * 1024, 1, 1), "more memory than the buffer"),
            (with(Algorithm::Argon2id, 1024, 3, 1), "more passes"),
            (with(Algorithm::Argon2id, 1024, 1, 2), "more lanes"),
        ] {
            assert!(!memory.verify(&phc, b"secret"), "{why}: {phc}");
        }
        for garbage in ["", "$argon2id$", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"] {
            assert!(!memory.verify(garbage, b"secret"), "{garbage:?}");
        }
    }

    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_and_a_panic_spares_the_thread() {
        let pool = Pool::new(1);
        let name = pool.run(|_| std::thread::current().name().map(str::to_string)).await.unwrap();
        assert_eq!(name.as_deref(), Some("harmy-argon2-0"));
        assert_eq!(pool.run(|_| -> u8 { panic!("a bug") }).await, None);
        // The same thread, with the memory it allocated at start.
        let address = pool.run(|memory| memory.blocks.as_ptr() as usize).await.unwrap();
        assert_eq!(pool.run(|memory| memory.blocks.as_ptr() as usize).await, Some(address));
        assert_eq!(pool.run(|_| std::thread::current().name().map(str::to_string)).await.unwrap(), name);
    }
}
