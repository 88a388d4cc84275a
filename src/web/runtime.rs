//! The wasm's own runtime when built as the shipped bundle (feature
//! `bundle`): the tracker is `no_std` there, so it brings its allocator and
//! a panic handler. Nothing in the tracker is meant to panic (clippy denies
//! unwrap/expect/indexing); if something ever does, the wasm traps, the JS
//! shim catches the error, and the host page never sees it.

#[global_allocator]
static ALLOC: super::allocator::SizeClasses = super::allocator::SizeClasses::new();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No message formatting: that alone would double the wasm size.
    core::arch::wasm32::unreachable()
}
