//! Shared by the fuzz targets.

/// Runs `work` on a thread with the stack `trustlint check` gives its workers (deep
/// evaluation needs it), passing a panic on so that libFuzzer sees it.
pub fn on_big_stack(work: impl FnOnce() + Send + 'static) {
    let joined = std::thread::Builder::new()
        .stack_size(trustlint::WORKER_STACK_BYTES)
        .spawn(work)
        .expect("spawn a fuzzing thread")
        .join();
    if let Err(panic) = joined {
        std::panic::resume_unwind(panic);
    }
}
