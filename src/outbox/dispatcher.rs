//! stub: the dispatcher loop.

/// Tuning of the delivery loop.
pub struct DispatcherSettings {}

/// Delivers queued operations.
pub struct Dispatcher {}
